#!/usr/bin/env bash
# Packs CnnSharp and the cnnsharp tool into a scratch folder feed, then consumes them as a user would: a new console
# project with a PackageReference to CnnSharp (builds and runs Program.cs), and `dotnet tool install` of the CLI from
# the feed (runs `cnnsharp --version` and `--help`). Prints "packaging: passed" or "packaging: FAILED" and exits 0/1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -1)
fail() { echo "packaging: FAILED ($1)"; exit 1; }

dotnet pack "$root/src/CnnSharp/CnnSharp.csproj" -c Release -o "$work/feed" >"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack CnnSharp"; }
dotnet pack "$root/src/CnnSharp.Cli/CnnSharp.Cli.csproj" -c Release -o "$work/feed" >>"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack CnnSharp.Cli"; }
for f in "CnnSharp.$version.nupkg" "CnnSharp.$version.snupkg" "CnnSharp.Cli.$version.nupkg"; do
  [ -f "$work/feed/$f" ] || fail "missing $f"
done
# The library package carries the XML docs and the README (zip entry names are stored uncompressed).
grep -aq "lib/net10.0/CnnSharp.xml" "$work/feed/CnnSharp.$version.nupkg" || fail "no XML docs in the package"
grep -aq "README.md" "$work/feed/CnnSharp.$version.nupkg" || fail "no README in the package"

# A user's project: outside the repository, so Directory.Build.props and central package versions do not apply.
mkdir -p "$work/app"
cat >"$work/app/app.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="CnnSharp" Version="$version" />
  </ItemGroup>
</Project>
XML
cp "$root/tests/packaging/Program.cs" "$work/app/Program.cs"
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local-feed" value="$work/feed" />
  </packageSources>
</configuration>
XML
(cd "$work/app" && dotnet run -c Release) || fail "the consuming project did not build or run"

dotnet tool install CnnSharp.Cli --version "$version" --tool-path "$work/tools" --add-source "$work/feed" >/dev/null || fail "dotnet tool install"
"$work/tools/cnnsharp" --version | grep -q "^$version" || fail "cnnsharp --version does not print $version"
"$work/tools/cnnsharp" --help | grep -q "predict" || fail "cnnsharp --help"
echo "packaging: passed"
