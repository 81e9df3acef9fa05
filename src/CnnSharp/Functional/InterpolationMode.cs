namespace CnnSharp.Functional;

/// <summary>How <see cref="F.Interpolate"/> samples the input (PyTorch's <c>mode</c> strings).</summary>
public enum InterpolationMode
{
    /// <summary><c>'nearest'</c>: copy the pixel at <c>floor(dst · scale)</c>.</summary>
    Nearest,
    /// <summary><c>'bilinear'</c>: weight the four neighbouring pixels by distance.</summary>
    Bilinear,
}
