using System.Globalization;
using System.Text;

namespace CnnSharp;

public sealed partial class Tensor
{
    /// <summary>
    /// PyTorch-like text: <c>tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=(2, 2))</c>; long dimensions are elided with "...".
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder("tensor(");
        if (Rank == 0) sb.Append(FormatValue(_data[0]));
        else AppendDim(sb, 0, 0, 7 + 1);
        sb.Append(", shape=").Append(Shape);
        if (GradFn is not null) sb.Append(", grad_fn=").Append(GradFn.Name);
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        sb.Append(')');
        return sb.ToString();
    }

    private void AppendDim(StringBuilder sb, int dim, int offset, int indent)
    {
        int n = Shape[dim];
        int stride = 1;
        for (int i = dim + 1; i < Rank; i++) stride *= Shape[i];
        const int edge = 3;
        bool elide = n > 2 * edge + 1;
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (elide && i == edge)
            {
                sb.Append("..., ");
                i = n - edge - 1;
                continue;
            }
            if (dim == Rank - 1) sb.Append(FormatValue(_data[offset + i]));
            else AppendDim(sb, dim + 1, offset + i * stride, indent + 1);
            if (i < n - 1)
            {
                sb.Append(',');
                if (dim == Rank - 1) sb.Append(' ');
                else sb.Append('\n').Append(' ', indent);
            }
        }
        sb.Append(']');
    }

    private static string FormatValue(float v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
}
