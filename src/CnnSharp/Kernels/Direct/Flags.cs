namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A compile-time boolean carried by a struct type argument: generic kernels branch on <c>TF.Value</c>, which the JIT
/// folds in each instantiation, so one kernel body yields specialised loops without runtime tests (see <see cref="IConst"/>).
/// </summary>
internal interface IFlag
{
    /// <summary>The flag.</summary>
    static abstract bool Value { get; }
}

/// <summary>The flag true.</summary>
internal readonly struct Yes : IFlag { public static bool Value => true; }

/// <summary>The flag false.</summary>
internal readonly struct No : IFlag { public static bool Value => false; }
