using System.Globalization;
using System.Text;
using System.Xml;

namespace CnnSharp.Cli.Rendering;

/// <summary>An <see cref="ICanvas"/> that writes an SVG 1.1 document as text.</summary>
internal sealed class SvgCanvas : ICanvas
{
    private readonly StringBuilder _body = new();

    public SvgCanvas(int width, int height)
    {
        Width = width;
        Height = height;
    }

    public int Width { get; }

    public int Height { get; }

    public void FillRectangle(double x, double y, double w, double h, Rgb color, string? role = null) =>
        _body.Append(CultureInfo.InvariantCulture, $"<rect x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(w)}\" height=\"{N(h)}\" fill=\"{color.Hex}\"{Role(role)}/>\n");

    public void Line(double x1, double y1, double x2, double y2, Rgb color, double thickness = 1) =>
        _body.Append(CultureInfo.InvariantCulture,
            $"<line x1=\"{N(x1)}\" y1=\"{N(y1)}\" x2=\"{N(x2)}\" y2=\"{N(y2)}\" stroke=\"{color.Hex}\" stroke-width=\"{N(thickness)}\"/>\n");

    public void Polyline(IReadOnlyList<(double X, double Y)> points, Rgb color, double thickness, string? role = null)
    {
        string coordinates = string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"));
        // A single point still shows: round caps draw a dot of the line's width.
        _body.Append(CultureInfo.InvariantCulture,
            $"<polyline points=\"{coordinates}\" fill=\"none\" stroke=\"{color.Hex}\" stroke-width=\"{N(thickness)}\" stroke-linecap=\"round\" stroke-linejoin=\"round\"{Role(role)}/>\n");
    }

    public void Text(double x, double y, string text, Rgb color, TextAnchor anchor = TextAnchor.Start, int scale = 1)
    {
        string a = anchor switch { TextAnchor.Middle => "middle", TextAnchor.End => "end", _ => "start" };
        // Monospace at the bitmap font's cell size, so text takes the room the layout gave it.
        _body.Append(CultureInfo.InvariantCulture,
            $"<text x=\"{N(x)}\" y=\"{N(y)}\" fill=\"{color.Hex}\" font-family=\"monospace\" font-size=\"{N(BitmapFont.CellHeight * scale)}\" text-anchor=\"{a}\" dominant-baseline=\"central\">{Escape(text)}</text>\n");
    }

    /// <summary>The complete document.</summary>
    public string ToDocument() =>
        $"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\">\n{_body}</svg>\n";

    private static string N(double v) => Math.Round(v, 2).ToString(CultureInfo.InvariantCulture);

    private static string Role(string? role) => role is null ? "" : $" class=\"{Escape(role)}\"";

    /// <summary>Escapes for element content and attribute values; characters XML cannot hold at all become U+FFFD.</summary>
    private static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            switch (c)
            {
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '&': sb.Append("&amp;"); break;
                case '"': sb.Append("&quot;"); break;
                default: sb.Append(XmlConvert.IsXmlChar(c) || char.IsSurrogate(c) ? c : '\uFFFD'); break;
            }
        }
        return sb.ToString();
    }
}
