namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A compile-time integer carried by a struct type argument: generic kernels read <c>TP.Value</c>, which the JIT
/// folds to a constant in each struct instantiation, so loops over tile sizes and dead accumulators disappear.
/// </summary>
internal interface IConst
{
    /// <summary>The constant.</summary>
    static abstract int Value { get; }
}

/// <summary>The constant 1.</summary>
internal readonly struct C1 : IConst { public static int Value => 1; }

/// <summary>The constant 2.</summary>
internal readonly struct C2 : IConst { public static int Value => 2; }

/// <summary>The constant 3.</summary>
internal readonly struct C3 : IConst { public static int Value => 3; }

/// <summary>The constant 4.</summary>
internal readonly struct C4 : IConst { public static int Value => 4; }

/// <summary>The constant 5.</summary>
internal readonly struct C5 : IConst { public static int Value => 5; }

/// <summary>The constant 6.</summary>
internal readonly struct C6 : IConst { public static int Value => 6; }

/// <summary>The constant 7.</summary>
internal readonly struct C7 : IConst { public static int Value => 7; }

/// <summary>The constant 8.</summary>
internal readonly struct C8 : IConst { public static int Value => 8; }

/// <summary>The constant 9.</summary>
internal readonly struct C9 : IConst { public static int Value => 9; }

/// <summary>The constant 10.</summary>
internal readonly struct C10 : IConst { public static int Value => 10; }

/// <summary>The constant 11.</summary>
internal readonly struct C11 : IConst { public static int Value => 11; }

/// <summary>The constant 12.</summary>
internal readonly struct C12 : IConst { public static int Value => 12; }

/// <summary>The constant 13.</summary>
internal readonly struct C13 : IConst { public static int Value => 13; }

/// <summary>The constant 14.</summary>
internal readonly struct C14 : IConst { public static int Value => 14; }

/// <summary>The constant 15.</summary>
internal readonly struct C15 : IConst { public static int Value => 15; }

/// <summary>The constant 16.</summary>
internal readonly struct C16 : IConst { public static int Value => 16; }

/// <summary>The constant 17.</summary>
internal readonly struct C17 : IConst { public static int Value => 17; }

/// <summary>The constant 18.</summary>
internal readonly struct C18 : IConst { public static int Value => 18; }

/// <summary>The constant 19.</summary>
internal readonly struct C19 : IConst { public static int Value => 19; }

/// <summary>The constant 20.</summary>
internal readonly struct C20 : IConst { public static int Value => 20; }

/// <summary>The constant 21.</summary>
internal readonly struct C21 : IConst { public static int Value => 21; }

/// <summary>The constant 22.</summary>
internal readonly struct C22 : IConst { public static int Value => 22; }

/// <summary>The constant 23.</summary>
internal readonly struct C23 : IConst { public static int Value => 23; }

/// <summary>The constant 24.</summary>
internal readonly struct C24 : IConst { public static int Value => 24; }

/// <summary>The constant 25.</summary>
internal readonly struct C25 : IConst { public static int Value => 25; }

/// <summary>The constant 26.</summary>
internal readonly struct C26 : IConst { public static int Value => 26; }

/// <summary>The constant 27.</summary>
internal readonly struct C27 : IConst { public static int Value => 27; }

/// <summary>The constant 28.</summary>
internal readonly struct C28 : IConst { public static int Value => 28; }

