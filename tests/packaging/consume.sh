#!/usr/bin/env bash
# Packs CnnSharp, CnnSharp.Onnx, CnnSharp.Data and the cnnsharp tool into a scratch folder feed, then consumes them as a
# user would: a new console project with PackageReferences to the three libraries (builds and runs Program.cs), and `dotnet tool install` of the CLI from
# the feed (runs `cnnsharp --version` and `--help`). Prints "packaging: passed" or "packaging: FAILED" and exits 0/1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -1)
fail() { echo "packaging: FAILED ($1)"; exit 1; }

libraries=(CnnSharp CnnSharp.Onnx CnnSharp.Data)
: >"$work/pack.log"
for p in "${libraries[@]}" CnnSharp.Cli; do
  dotnet pack "$root/src/$p/$p.csproj" -c Release -o "$work/feed" >>"$work/pack.log" 2>&1 || { cat "$work/pack.log"; fail "dotnet pack $p"; }
done
[ -f "$work/feed/CnnSharp.Cli.$version.nupkg" ] || fail "missing CnnSharp.Cli.$version.nupkg"
for p in "${libraries[@]}"; do
  for f in "$p.$version.nupkg" "$p.$version.snupkg"; do
    [ -f "$work/feed/$f" ] || fail "missing $f"
  done
  # Each library package carries its XML docs, the README and the licence (zip entry names are stored uncompressed).
  grep -aq "lib/net10.0/$p.xml" "$work/feed/$p.$version.nupkg" || fail "no XML docs in $p"
  grep -aq "README.md" "$work/feed/$p.$version.nupkg" || fail "no README in $p"
  unzip -p "$work/feed/$p.$version.nupkg" "$p.nuspec" | grep -q "<license type=\"expression\">MIT</license>" || fail "no licence in $p"
done
# The core package depends on no ONNX, image or archive package.
if unzip -p "$work/feed/CnnSharp.$version.nupkg" CnnSharp.nuspec | grep -Eq "Google.Protobuf|StbImageSharp|SharpCompress"; then
  fail "CnnSharp depends on an ONNX/image/archive package"
fi

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
    <!-- Its own packages folder: the machine-wide one may hold another build's CnnSharp $version. -->
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="CnnSharp" Version="$version" />
    <PackageReference Include="CnnSharp.Onnx" Version="$version" />
    <PackageReference Include="CnnSharp.Data" Version="$version" />
  </ItemGroup>
</Project>
XML
cp "$root/tests/packaging/Program.cs" "$work/app/Program.cs"
global_packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}
mkdir -p "$global_packages"
cat >"$work/app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local-feed" value="$work/feed" />
    <add key="machine-cache" value="$global_packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <!-- CnnSharp packages only from the fresh feed; their dependencies from the machine's cache or nuget.org. -->
  <packageSourceMapping>
    <packageSource key="local-feed">
      <package pattern="CnnSharp" />
      <package pattern="CnnSharp.*" />
    </packageSource>
    <packageSource key="machine-cache">
      <package pattern="*" />
    </packageSource>
    <packageSource key="nuget.org">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
</configuration>
XML
(cd "$work/app" && dotnet run -c Release) || fail "the consuming project did not build or run"

dotnet tool install CnnSharp.Cli --version "$version" --tool-path "$work/tools" --add-source "$work/feed" >/dev/null || fail "dotnet tool install"
"$work/tools/cnnsharp" --version | grep -q "^$version" || fail "cnnsharp --version does not print $version"
"$work/tools/cnnsharp" --help | grep -q "predict" || fail "cnnsharp --help"
echo "packaging: passed"
