namespace CnnSharp.Fuzz;

/// <summary>
/// One input format under test: how to feed it bytes, which exceptions are its documented errors, and what the mutator
/// may know about the format (tokens to insert, where its length fields are).
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>The name on the command line and of the seed folder under <c>fuzz/corpus/</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Runs one input through the code under test. Returns a short description of what the input reached (for example
    /// the element types of a decoded file); inputs that reach something new are kept in the corpus.
    /// </summary>
    public abstract string Execute(byte[] input);

    /// <summary>Whether <paramref name="error"/> is one of the target's documented, typed errors.</summary>
    public abstract bool IsExpected(Exception error);

    /// <summary>Format tokens the mutator inserts or writes over the input (keywords, option names).</summary>
    public virtual IReadOnlyList<byte[]> Dictionary => [];

    /// <summary>Where the input declares lengths or sizes (chunk lengths, dimensions), for the length-edit mutation.</summary>
    public virtual IEnumerable<LengthField> LengthFields(byte[] input) => [];

    /// <summary>All targets, in the order <c>--target all</c> runs them.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new Targets.SafeTensorsTarget(), new Targets.TorchTarget(), new Targets.OnnxTarget(), new Targets.IdxTarget(),
        new Targets.ImageTarget("png"), new Targets.ImageTarget("jpeg"), new Targets.DebTarget(), new Targets.CliTarget(),
    ];
}

/// <summary>An integer field of <paramref name="Width"/> bytes (2, 4 or 8) at <paramref name="Offset"/>.</summary>
internal readonly record struct LengthField(int Offset, int Width, bool BigEndian);
