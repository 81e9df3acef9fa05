namespace CnnSharp.Functional;

/// <summary>Dimension arguments of the tensor-manipulation ops, checked with errors that name the op.</summary>
internal static class Dims
{
    /// <summary>Maps <paramref name="dim"/> (negative counts from the end, as in Python) to 0..rank-1.</summary>
    /// <param name="op">The op, for the message.</param>
    /// <param name="dim">The argument.</param>
    /// <param name="rank">Number of valid dimensions (for Stack and Unsqueeze-like ops, the output's rank).</param>
    /// <param name="what">The input(s), for the message, e.g. <c>input (2, 3)</c>.</param>
    /// <exception cref="ShapeException">The dimension is out of range (a rank-0 input has none).</exception>
    public static int Normalize(string op, int dim, int rank, string what)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (rank == 0) throw new ShapeException($"{op}: {what} has no dimensions (rank 0), so dim {dim} is out of range");
        if (d < 0 || d >= rank)
            throw new ShapeException($"{op}: dim {dim} is out of range for {what} (valid dims are {-rank}..{rank - 1})");
        return d;
    }
}
