using System.Text;
using CnnSharp.IO;

namespace CnnSharp.Cli.Rendering;

/// <summary>Writes a drawing as a PNG or SVG file, chosen by the path's extension, atomically (temporary file, then rename).</summary>
internal static class ChartFile
{
    /// <summary>Whether <paramref name="path"/> ends in <c>.svg</c> (else <c>.png</c>).</summary>
    /// <exception cref="ArgumentException">The extension is neither (the message names <paramref name="option"/>).</exception>
    public static bool IsSvg(string path, string option)
    {
        string extension = Path.GetExtension(path);
        if (extension.Equals(".svg", StringComparison.OrdinalIgnoreCase)) return true;
        if (extension.Equals(".png", StringComparison.OrdinalIgnoreCase)) return false;
        throw new ArgumentException($"{option} {path}: the file name must end in .png or .svg (that decides the format)");
    }

    /// <summary>Draws with <paramref name="draw"/> on a <paramref name="width"/> x <paramref name="height"/> canvas and writes it to <paramref name="path"/>.</summary>
    public static void Write(string path, string option, int width, int height, Action<ICanvas> draw)
    {
        if (IsSvg(path, option))
        {
            var svg = new SvgCanvas(width, height);
            draw(svg);
            byte[] bytes = Encoding.UTF8.GetBytes(svg.ToDocument());
            AtomicFile.Write(path, s => s.Write(bytes));
            return;
        }
        var raster = new RasterCanvas(width, height, Rgb.White);
        draw(raster);
        WritePng(path, raster);
    }

    /// <summary>Writes <paramref name="raster"/> as a PNG file.</summary>
    public static void WritePng(string path, RasterCanvas raster)
    {
        byte[] png = PngEncoder.Encode(raster.Width, raster.Height, 3, raster.Pixels);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
