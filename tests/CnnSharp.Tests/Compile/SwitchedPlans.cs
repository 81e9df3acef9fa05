using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Modules;

namespace CnnSharp.Tests.Compile;

/// <summary>Plans built under a planner switch (for <see cref="PlanSwitchGroup"/> classes comparing a switch's two plans).</summary>
internal static class SwitchedPlans
{
    /// <summary>Compiles <paramref name="m"/> for <paramref name="shape"/> with <paramref name="set"/>(<paramref name="on"/>),
    /// then restores the default (<paramref name="set"/>(true)).</summary>
    public static CompiledModel Compile(Module m, int[] shape, Action<bool> set, bool on)
    {
        set(on);
        try
        {
            return m.Compile(shape);
        }
        finally
        {
            set(true);
        }
    }

    /// <summary>Runs <paramref name="body"/> with every inference chain of a batch below the thread count split inside the
    /// image, however little work it has (<c>ConvChainOp.MinSplitMacs</c> 0).</summary>
    public static void SplitAlways(Action body)
    {
        long saved = ConvChainOp.MinSplitMacs;
        ConvChainOp.MinSplitMacs = 0;
        try
        {
            body();
        }
        finally
        {
            ConvChainOp.MinSplitMacs = saved;
        }
    }
}
