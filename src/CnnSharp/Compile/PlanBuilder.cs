using CnnSharp.Autograd;
using CnnSharp.Compile.Ops;
using CnnSharp.Modules;

namespace CnnSharp.Compile;

/// <summary>
/// Builds an <see cref="ExecutionPlan"/> from an <see cref="OpGraph"/>: drops dead ops, fuses (direct-kernel conv chains
/// with their batch norm, ReLU and max pooling: <see cref="ConvChainOp"/>; batch norm + ReLU, add + ReLU; in inference
/// plans also conv + folded batch norm + residual add + ReLU), and allocates every buffer once. The graph comes from a
/// traced forward pass (<see cref="Build"/>, which maps tensors to values) or from an imported ONNX graph
/// (<c>Onnx.OnnxPlanner</c>).
/// </summary>
internal static partial class PlanBuilder
{
    /// <summary>A graph node before it becomes an op.</summary>
    internal sealed class GraphNode(OpSpec spec, int[] inputs, int output)
    {
        public OpSpec Spec { get; } = spec;
        public int[] Inputs { get; set; } = inputs;
        public int Output { get; set; } = output;
        public bool Relu { get; set; }

        /// <summary>Upper clamp after <see cref="Relu"/> (a ReLU6 / Clip(0, max) fused into a conv); +∞ when none.</summary>
        public float Max { get; set; } = float.PositiveInfinity;
        public BatchNormSpec? Fold { get; set; }
        public int Residual { get; set; } = -1;
        public bool Dead { get; set; }

        /// <summary>A merged conv chain's residual adds inside it (<see cref="MergeResidualChains"/>).</summary>
        public List<ChainResidual> Inner { get; init; } = [];

        /// <summary>For an eager island: the recorded op and which of its input slots read which values.</summary>
        public TracedOp? Traced { get; init; }

        public (int Slot, int Value)[] Slots { get; init; } = [];
    }

    /// <summary>Traces <paramref name="model"/> on a random input of <paramref name="inputShape"/> and plans it.</summary>
    /// <param name="model">The module to trace (its forward runs once; buffers are restored afterwards).</param>
    /// <param name="inputShape">The input shape the plan is for.</param>
    /// <param name="differentiable">Plan for backward (keeps every activation, no weight folding).</param>
    /// <param name="inputRequiresGrad">Also produce the input's gradient.</param>
    /// <param name="failure">Why the model cannot be compiled (the caller runs it eagerly), or null.</param>
    /// <param name="forwardError">The exception the model's own forward pass threw on <paramref name="inputShape"/> (the model
    /// cannot take that shape at all, compiled or not), or null when the forward ran.</param>
    public static ExecutionPlan? Build(Module model, Shape inputShape, bool differentiable, bool inputRequiresGrad, out string? failure,
        out Exception? forwardError)
    {
        if (Capture(model, inputShape, out failure, out forwardError) is not { } graph) return null;
        var norms = model.NamedModules().Select(m => m.Value).OfType<BatchNormBase>()
            .Where(b => b.RunningMean is not null).ToDictionary<BatchNormBase, Tensor, BatchNormBase>(b => b.RunningMean!, b => b, ReferenceEqualityComparer.Instance);
        return BuildFromGraph(graph, differentiable, inputRequiresGrad, norms);
    }

    /// <summary>Traces <paramref name="model"/> on a random input of <paramref name="inputShape"/> into an <see cref="OpGraph"/>;
    /// <paramref name="failure"/> says why when the trace has no graph form (an op without a compiled form or eager replay).</summary>
    private static OpGraph? Capture(Module model, Shape inputShape, out string? failure, out Exception? forwardError)
    {
        var trace = Trace(model, inputShape, out var input, out var output, out failure, out forwardError);
        if (trace is null) return null;

        var values = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance) { [input] = 0 };
        var shapes = new List<Shape> { inputShape };
        var constants = new Dictionary<int, float[]>();
        var nodes = new List<GraphNode>();
        // The storage of every value the trace computed. A tensor that shares one without being a value is a Detach() (or
        // another untraced view) of it: read as a recorded constant it would keep the traced forward's data for every input.
        var computed = new HashSet<float[]>(ReferenceEqualityComparer.Instance) { input.Storage };
        foreach (var op in trace.Ops)
        {
            if (op.Spec is not { } spec)
            {
                failure = $"op {op.Name} (output {op.Output.Shape}) has no compiled form";
                return null;
            }
            if (op.Inputs.FirstOrDefault(t => !t.RequiresGrad && !values.ContainsKey(t) && computed.Contains(t.Storage)) is { } detached)
            {
                failure = $"op {op.Name} reads a detached view (shape {detached.Shape}) of a value the forward pass computed; the plan cannot follow it";
                return null;
            }
            computed.Add(op.Output.Storage);
            if (spec is EagerSpec)
            {
                // Graph break: every input that is a value is read from the plan; parameters and constants are used as recorded.
                var slots = new List<(int Slot, int Value)>();
                for (int i = 0; i < op.Inputs.Length; i++)
                    if (values.TryGetValue(op.Inputs[i], out int v)) slots.Add((i, v));
                values[op.Output] = shapes.Count;
                shapes.Add(op.Output.Shape);
                nodes.Add(new GraphNode(spec, [.. slots.Select(s => s.Value).Distinct()], shapes.Count - 1) { Traced = op, Slots = [.. slots] });
                continue;
            }
            int dataInputs = spec is AddSpec ? 2 : 1;
            var ids = new int[dataInputs];
            for (int i = 0; i < dataInputs; i++)
            {
                var t = op.Inputs[i];
                if (!values.TryGetValue(t, out ids[i]))
                {
                    if (t.RequiresGrad)
                    {
                        failure = $"op {op.Name} reads a tensor of shape {t.Shape} that requires grad but was not produced by the traced graph";
                        return null;
                    }
                    ids[i] = values[t] = shapes.Count;
                    shapes.Add(t.Shape);
                    constants[ids[i]] = t.Storage;
                }
            }
            values[op.Output] = shapes.Count;
            shapes.Add(op.Output.Shape);
            nodes.Add(new GraphNode(spec, ids, shapes.Count - 1));
        }
        if (!values.TryGetValue(output, out int outputId) || outputId == 0 || constants.ContainsKey(outputId))
        {
            failure = "the forward pass does not compute its output from its input through traced ops";
            return null;
        }
        failure = null;
        return new OpGraph(shapes, constants, nodes, outputId);
    }

    /// <summary>
    /// Plans <paramref name="graph"/>: drops dead nodes, fuses, allocates every buffer and creates the ops. The graph's
    /// nodes are consumed (fusion rewrites them).
    /// </summary>
    /// <param name="graph">The nodes in execution order; value 0 is the plan input.</param>
    /// <param name="differentiable">Plan for backward (keeps every activation, no weight folding).</param>
    /// <param name="inputRequiresGrad">Also produce the input's gradient.</param>
    /// <param name="norms">The batch-norm modules by running-mean tensor (training plans update their counters); may be empty.</param>
    public static ExecutionPlan BuildFromGraph(OpGraph graph, bool differentiable, bool inputRequiresGrad, Dictionary<Tensor, BatchNormBase> norms)
    {
        var (shapes, constants, nodes, outputId) = (graph.Shapes, graph.Constants, graph.Nodes, graph.Output);
        ClampNodes.CompileRelu6(nodes);
        MarkDead(nodes, outputId);
        bool merge = ResidualChains && BlockedResiduals && (differentiable || BlockedInferenceResiduals);
        FuseChains(nodes, outputId, strided: StridedChains && (differentiable || StridedInferenceChains),
            stridedStem: !differentiable && StridedInferenceChains && StridedStemChains, merge: merge, inference: !differentiable);
        if (ResidualChains) FuseResiduals(nodes, outputId);
        bool projections = merge && !differentiable && InferenceProjections;
        if (projections) MergeProjections(nodes, training: false);
        else if (merge && differentiable && TrainingProjections) MergeProjections(nodes, training: true);
        if (merge) MergeResidualChains(nodes, outputId, downsampling: projections || (differentiable && TrainingProjections && TrainingDownsampling));
        Fuse(nodes, outputId, shapes.Count, fold: !differentiable);
        var live = nodes.Where(n => !n.Dead).ToList();

        var alias = new int[shapes.Count];
        for (int v = 0; v < alias.Length; v++) alias[v] = v;
        foreach (var n in live) if (n.Spec is ReshapeSpec) alias[n.Output] = alias[n.Inputs[0]];

        var data = new float[shapes.Count][];
        foreach (var (id, storage) in constants) data[id] = storage;
        AllocateData(live, shapes, alias, data, reuse: !differentiable, outputId, constants.Keys.ToHashSet());

        var ops = live.Where(n => n.Spec is not ReshapeSpec).Select(n => CreateOp(n, shapes, differentiable, inputRequiresGrad, norms)).ToArray();
        if (!differentiable) ops = ChainPoolOp.FuseInto(PointwisePoolOp.FuseInto(ExpandDepthwiseOp.FuseInto(ops, data, outputId), outputId), data);
        var breaks = live.Where(n => n.Spec is EagerSpec).Select(n => n.Traced!.Name).ToList();
        var grad = new float[]?[shapes.Count];
        var clearBefore = new List<float[]>[ops.Length];
        for (int i = 0; i < ops.Length; i++) clearBefore[i] = [];
        if (differentiable) AllocateGrad(live, ops, shapes, alias, grad, inputRequiresGrad, outputId, clearBefore);
        return new ExecutionPlan([.. shapes], data, grad, ops, outputId, breaks, [.. clearBefore.Select(c => c.ToArray())]);
    }

    private static Tracer? Trace(Module model, Shape inputShape, out Tensor input, out Tensor output, out string? failure, out Exception? forwardError)
    {
        forwardError = null;
        var tracer = new Tracer();
        input = Tensor.Randn(new Generator(0), inputShape.ToArray()).RequiresGrad_();
        // Tracing runs the real forward: batch-norm running statistics and counters must not see the trace batch.
        var buffers = model.NamedBuffers().Select(b => (b.Value, b.Value.ToArray())).ToList();
        try
        {
            using var grad = GradMode.EnableGrad();
            using var scope = Tracer.Begin(tracer);
            output = model.Forward(input);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            failure = $"the forward pass failed on input {inputShape}: {e.Message}";
            forwardError = e;
            output = input;
            return null;
        }
        finally
        {
            foreach (var (tensor, saved) in buffers) saved.CopyTo(tensor.Data);
        }
        failure = null;
        return tracer;
    }

    private static void MarkDead(List<GraphNode> nodes, int outputId)
    {
        var needed = new HashSet<int> { outputId };
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            var n = nodes[i];
            // Batch norm in training mode updates running statistics: it stays even when its output is unused.
            bool effect = n.Spec is BatchNormSpec { Training: true, RunningMean: not null };
            if (!needed.Contains(n.Output) && !effect) { n.Dead = true; continue; }
            foreach (int v in n.Inputs) needed.Add(v);
        }
    }

    // Conv chains (ConvChainOp): from each direct-kernel convolution, absorb batch norm, ReLU and 2x2/2 max pooling, then
    // the next direct-kernel convolution, as long as each value in between has that one reader (and is not the output).
    // In both plan kinds: the chain subsumes folding batch norm into a direct conv (its epilogue applies the affine map).
    // With `strided` (training plans; inference plans too unless StridedInferenceChains is off) a chain also starts at a
    // strided conv (ConvChainOp.SupportsStrided).
    // With `stridedStem` (inference plans) a strided conv of few channels reading the plan input starts a chain even alone
    // (ConvChainOp.SupportsStridedStem: ResNet-18's 7x7 stride-2 stem, whose column packing gathers on the GEMM).
    // With `merge` a stem that feeds an identity block starts a chain even alone (BlockedResiduals).
    // Inference plans leave stride-1 1x1 convs and convs whose batch norm feeds a clamp (ReLU6) to Conv2dOp
    // (ClampNodes.StaysOffChains).
    private static void FuseChains(List<GraphNode> nodes, int outputId, bool strided, bool stridedStem, bool merge, bool inference)
    {
        var readers = Readers(nodes);
        GraphNode? Next(int v) => SoleReader(readers, v, outputId);

        for (int i = 0; i < nodes.Count; i++)
        {
            var first = nodes[i];
            if (first.Dead || first.Spec is not Conv2dSpec c0) continue;
            bool stem = stridedStem && first.Inputs[0] == 0 && ConvChainOp.SupportsStridedStem(c0.Geometry);
            if (!(stem || ConvChainOp.Supports(c0.Geometry) || (strided && ConvChainOp.SupportsStrided(c0.Geometry) && !StridedOnGemm(c0.Geometry, inference)))
                || (inference && ClampNodes.StaysOffChains(first, Next)) || OnBatchWinograd(c0.Geometry, inference)) continue;
            // A planar input of 2 to 15 channels only as the stem (the chain reads the plan input, value 0): the chain's
            // input gradient, when the plan has one, is then exactly the plan input's. Small-channel convs deeper in a
            // network (MobileNet's pointwise, LeNet's 6->16) keep their ops until measured as chains. (C = 1 chains as
            // before, anywhere.)
            if (c0.Geometry.C % 16 != 0 && c0.Geometry.C != 1 && !stem
                && (first.Inputs[0] != 0 || !SmallChannelStems || !(LoneStemChains || FeedsAnotherStage(first, Next) || (merge && FeedsIdentityBlock(first, Next, readers))))) continue;
            var stages = new List<ConvChainStage>();
            var conv = first;
            int value;
            while (true)
            {
                var spec = (Conv2dSpec)conv.Spec;
                conv.Dead = true;
                value = conv.Output;
                BatchNormSpec? norm = null;
                bool relu = false;
                Pool2dGeometry? pool = null;
                if (Next(value) is { Spec: BatchNormSpec b } bn && (b.Training || b is { RunningMean: not null, RunningVar: not null }))
                {
                    norm = b;
                    bn.Dead = true;
                    value = bn.Output;
                }
                if (Next(value) is { Spec: ActivationSpec { Kind: ActivationKind.Relu } } r)
                {
                    relu = true;
                    r.Dead = true;
                    value = r.Output;
                }
                if (Next(value) is { Spec: MaxPool2dSpec m } mp && ConvChainOp.SupportsPool(m.Geometry))
                {
                    pool = m.Geometry;
                    mp.Dead = true;
                    value = mp.Output;
                }
                stages.Add(new ConvChainStage(spec, norm, relu, pool));
                if (Next(value) is { Spec: Conv2dSpec c } nextConv && ConvChainOp.Supports(c.Geometry)
                    && !(inference && ClampNodes.StaysOffChains(nextConv, Next)) && !OnBatchWinograd(c.Geometry, inference)) conv = nextConv;
                else break;
            }
            nodes[i] = new GraphNode(new ConvChainSpec([.. stages]), first.Inputs, value);
        }
    }

    /// <summary>Whether a convolution of fewer than 16 input channels reading the plan input starts a conv chain (on by
    /// default; the benchmarks switch it off to A/B the plans in one process: off, it runs as Conv2dOp).</summary>
    internal static bool SmallChannelStems { get; set; } = true;

    /// <summary>Whether a stem whose chain would have no second convolution (ResNet's: its output is also block 1's skip
    /// operand) is a 1-stage chain too (off: measured no faster than Conv2dOp + batch norm, the chain's NCHW/blocked
    /// conversions costing what its fused epilogue saves; the benchmarks switch it on to A/B).</summary>
    internal static bool LoneStemChains { get; set; }

    // Whether the chain pass would take a second convolution after `conv`'s batch norm, ReLU and max pooling.
    private static bool FeedsAnotherStage(GraphNode conv, Func<int, GraphNode?> next)
    {
        int v = conv.Output;
        if (next(v) is { Spec: BatchNormSpec b } bn && (b.Training || b is { RunningMean: not null, RunningVar: not null })) v = bn.Output;
        if (next(v) is { Spec: ActivationSpec { Kind: ActivationKind.Relu } } r) v = r.Output;
        if (next(v) is { Spec: MaxPool2dSpec m } mp && ConvChainOp.SupportsPool(m.Geometry)) v = mp.Output;
        return next(v) is { Spec: Conv2dSpec c } && ConvChainOp.Supports(c.Geometry);
    }

    /// <summary>Whether plans start conv chains at strided convolutions (on by default; the benchmarks switch it off to
    /// A/B the plans in one process).</summary>
    internal static bool StridedChains { get; set; } = true;

    /// <summary>Whether inference plans start conv chains at strided convolutions too (eval batch norm then folded into
    /// the chain's epilogue; on by default, measured in docs/performance.md; off: Conv2dOp on the implicit GEMM with the
    /// batch norm folded into its weights). The benchmarks switch it to A/B inference plans in one process.</summary>
    internal static bool StridedInferenceChains { get; set; } = true;

    /// <summary>Whether inference plans run a strided stem of few channels (<see cref="ConvChainOp.SupportsStridedStem"/>)
    /// as a chain stage, alone if need be (on by default; the benchmarks switch it off to A/B in one process).</summary>
    internal static bool StridedStemChains { get; set; } = true;

    /// <summary>Whether the residual pass runs (on by default; the benchmarks switch it off to A/B the plans in one process).</summary>
    internal static bool ResidualChains { get; set; } = true;

    // Residual Add (+ ReLU) into the conv chain computing one operand (ConvChainOp adds the other operand, a plan value,
    // in its last epilogue and splits the gradient in its first backward phase), in both plan kinds. The chain's output
    // must have the Add as its only reader; the chain then runs where the Add was, after the other operand exists (a
    // ResNet block computes its projection shortcut after the main branch).
    private static void FuseResiduals(List<GraphNode> nodes, int outputId)
    {
        var readers = Readers(nodes);
        var producer = new Dictionary<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (!nodes[i].Dead) producer[nodes[i].Output] = i;
        for (int i = 0; i < nodes.Count; i++)
        {
            var add = nodes[i];
            if (add.Dead || add.Spec is not AddSpec || add.Inputs.Length != 2 || add.Inputs[0] == add.Inputs[1]) continue;
            for (int side = 0; side < 2; side++)
            {
                int v = add.Inputs[side];
                if (v == outputId || !producer.TryGetValue(v, out int c) || nodes[c] is not { Spec: ConvChainSpec, Residual: < 0 } chain
                    || readers[v].Count != 1) continue;
                chain.Residual = add.Inputs[1 - side];
                chain.Inputs = [chain.Inputs[0], chain.Residual];
                chain.Output = add.Output;
                if (SoleReader(readers, add.Output, outputId) is { Spec: ActivationSpec { Kind: ActivationKind.Relu } } relu)
                {
                    chain.Relu = true;
                    relu.Dead = true;
                    chain.Output = relu.Output;
                }
                add.Dead = true;
                (nodes[c], nodes[i]) = (add, chain);
                producer[chain.Output] = i;
                break;
            }
        }
    }

    private static Dictionary<int, List<GraphNode>> Readers(List<GraphNode> nodes)
    {
        var readers = new Dictionary<int, List<GraphNode>>();
        foreach (var n in nodes.Where(n => !n.Dead))
            foreach (int v in n.Inputs.Distinct())
            {
                if (!readers.TryGetValue(v, out var list)) readers[v] = list = [];
                list.Add(n);
            }
        return readers;
    }

    // The node reading value v when it is v's only reader and has v as its only input (and v is not the plan output).
    private static GraphNode? SoleReader(Dictionary<int, List<GraphNode>> readers, int v, int outputId) =>
        v != outputId && readers.TryGetValue(v, out var list) && list.Count == 1 && list[0].Inputs.Length == 1 && list[0].Inputs[0] == v ? list[0] : null;

    private static void Fuse(List<GraphNode> nodes, int outputId, int valueCount, bool fold)
    {
        var consumers = new int[valueCount];
        var producer = new Dictionary<int, GraphNode>();
        foreach (var n in nodes.Where(n => !n.Dead))
        {
            foreach (int v in n.Inputs) consumers[v]++;
            producer[n.Output] = n;
        }
        var order = nodes.Where(n => !n.Dead).Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);
        bool SoleUse(int v) => consumers[v] == 1 && v != outputId;

        foreach (var n in nodes.Where(n => !n.Dead))
        {
            if (n.Spec is BatchNormSpec bn && fold && !bn.Training && bn.RunningMean is not null
                && producer.TryGetValue(n.Inputs[0], out var conv) && conv.Spec is Conv2dSpec && conv.Fold is null && !conv.Relu
                && conv.Residual < 0 && SoleUse(n.Inputs[0]))
            {
                conv.Fold = bn;
                Absorb(conv, n);
            }
            else if (n.Spec is AddSpec && fold)
            {
                // Residual into the conv epilogue: the other operand must exist before the conv runs.
                for (int side = 0; side < 2; side++)
                {
                    if (producer.TryGetValue(n.Inputs[side], out var c) && c.Spec is Conv2dSpec && !c.Relu && c.Residual < 0 && !c.Dead
                        && SoleUse(n.Inputs[side]) && n.Inputs[1 - side] != n.Inputs[side]
                        && (!producer.TryGetValue(n.Inputs[1 - side], out var other) || order[other] < order[c]))
                    {
                        c.Residual = n.Inputs[1 - side];
                        c.Inputs = [c.Inputs[0], c.Residual];
                        Absorb(c, n);
                        break;
                    }
                }
            }
            else if (fold && n.Spec is ClampSpec clamp && ClampNodes.FusesInto(clamp, producer.GetValueOrDefault(n.Inputs[0])) && SoleUse(n.Inputs[0]))
            {
                var conv2 = producer[n.Inputs[0]];
                (conv2.Relu, conv2.Max) = (true, clamp.Max);
                Absorb(conv2, n);
            }
            else if (n.Spec is ActivationSpec { Kind: ActivationKind.Relu } && producer.TryGetValue(n.Inputs[0], out var p)
                && !p.Dead && !p.Relu && SoleUse(n.Inputs[0])
                && (p.Spec is BatchNormSpec or AddSpec || (fold && p.Spec is Conv2dSpec)))
            {
                p.Relu = true;
                Absorb(p, n);
            }
        }

        void Absorb(GraphNode into, GraphNode absorbed)
        {
            into.Output = absorbed.Output;
            producer[absorbed.Output] = into;
            absorbed.Dead = true;
        }
    }

    private static void AllocateData(List<GraphNode> live, List<Shape> shapes, int[] alias, float[][] data, bool reuse, int outputId,
        HashSet<int> constants)
    {
        var lastUse = new int[shapes.Count];
        Array.Fill(lastUse, -1);
        for (int i = 0; i < live.Count; i++)
            foreach (int v in live[i].Inputs) lastUse[alias[v]] = i;
        lastUse[alias[outputId]] = int.MaxValue;
        var free = new List<float[]>();
        for (int i = 0; i < live.Count; i++)
        {
            var n = live[i];
            if (n.Spec is not ReshapeSpec)
            {
                int size = shapes[n.Output].Numel;
                int hit = reuse ? free.FindIndex(b => b.Length == size) : -1;
                if (hit >= 0) { data[n.Output] = free[hit]; free.RemoveAt(hit); }
                else data[n.Output] = new float[size];
            }
            if (!reuse) continue;
            foreach (int v in n.Inputs.Distinct())
            {
                int root = alias[v];
                if (root != 0 && lastUse[root] == i && data[root] is { } buffer && !constants.Contains(root)) free.Add(buffer);
            }
        }
        for (int v = 0; v < shapes.Count; v++) if (alias[v] != v && alias[v] != 0) data[v] = data[alias[v]];
    }

    // Gradient buffers are shared between values whose gradient lifetimes do not overlap. In backward time (op i's
    // backward runs at t = ops - 1 - i), a value's gradient lives from the first backward step that writes it (its last
    // consumer, where it is cleared first) to its producer's backward, which reads it; the model output's is written by
    // the loss before backward starts and the input's is read after it ends.
    private static void AllocateGrad(List<GraphNode> live, CompiledOp[] ops, List<Shape> shapes, int[] alias, float[]?[] grad,
        bool inputRequiresGrad, int outputId, List<float[]>[] clearBefore)
    {
        var requires = new bool[shapes.Count];
        requires[0] = inputRequiresGrad;
        foreach (var n in live)
        {
            bool parameters = n.Spec switch
            {
                Conv2dSpec c => c.Weight.RequiresGrad || c.Bias is { RequiresGrad: true },
                ConvChainSpec chain => chain.Stages.Any(s => s.Conv.Weight.RequiresGrad || s.Conv.Bias is { RequiresGrad: true }
                    || s.Norm?.Weight is { RequiresGrad: true } || s.Norm?.Bias is { RequiresGrad: true }),
                BatchNormSpec b => b.Weight is { RequiresGrad: true } || b.Bias is { RequiresGrad: true },
                LinearSpec l => l.Weight.RequiresGrad || l.Bias is { RequiresGrad: true },
                EagerSpec => n.Traced!.Inputs.Where((t, i) => !n.Slots.Any(s => s.Slot == i)).Any(t => t.RequiresGrad),
                _ => false,
            };
            requires[n.Output] = parameters || n.Inputs.Any(v => requires[v]);
        }
        for (int v = 0; v < shapes.Count; v++) requires[alias[v]] |= requires[v];

        int count = ops.Length;
        var firstWrite = new int[shapes.Count];
        var lastRead = new int[shapes.Count];
        Array.Fill(firstWrite, int.MaxValue);
        Array.Fill(lastRead, -1);
        for (int i = 0; i < count; i++)
        {
            int t = count - 1 - i;
            foreach (int v in ops[i].Inputs) firstWrite[alias[v]] = Math.Min(firstWrite[alias[v]], t);
            lastRead[alias[ops[i].Output]] = Math.Max(lastRead[alias[ops[i].Output]], t);
        }
        firstWrite[alias[outputId]] = -1;
        lastRead[alias[0]] = count;

        var roots = Enumerable.Range(0, shapes.Count).Where(v => alias[v] == v && requires[v] && firstWrite[v] != int.MaxValue)
            .OrderBy(v => firstWrite[v]).ToList();
        var pool = new List<(float[] Buffer, int BusyUntil)>();
        foreach (int r in roots)
        {
            int size = shapes[r].Numel;
            int hit = pool.FindIndex(p => p.Buffer.Length == size && p.BusyUntil < firstWrite[r]);
            float[] buffer;
            if (hit >= 0)
            {
                buffer = pool[hit].Buffer;
                pool[hit] = (buffer, Math.Max(lastRead[r], firstWrite[r]));
            }
            else
            {
                buffer = new float[size];
                pool.Add((buffer, Math.Max(lastRead[r], firstWrite[r])));
            }
            grad[r] = buffer;
            if (firstWrite[r] >= 0) clearBefore[count - 1 - firstWrite[r]].Add(buffer);
        }
        for (int v = 0; v < shapes.Count; v++)
            if (alias[v] != v && grad[alias[v]] is { } g && requires[v]) grad[v] = g;
    }

    private static CompiledOp CreateOp(GraphNode n, List<Shape> shapes, bool differentiable, bool inputRequiresGrad, Dictionary<Tensor, BatchNormBase> norms)
    {
        int x = n.Inputs.Length > 0 ? n.Inputs[0] : -1;
        return n.Spec switch
        {
            ConvChainSpec chain => new ConvChainOp(x, n.Output, chain, differentiable, differentiable && inputRequiresGrad && x == 0,
                b => b.RunningMean is null ? null : norms.GetValueOrDefault(b.RunningMean), n.Residual, n.Relu, n.Inner),
            Conv2dSpec c when OnBatchWinograd(c.Geometry, !differentiable) => new BatchWinogradConvOp(x, n.Output, c, n.Fold, n.Residual, n.Relu, n.Max),
            Conv2dSpec c => new Conv2dOp(x, n.Output, c, n.Fold, n.Residual, n.Relu, n.Max) { DirectStem = !differentiable },
            ClampSpec c => new ClampOp(x, n.Output, c),
            ConcatSpec c => new CatOp(n.Inputs, n.Output, c.Axis, [.. shapes]),
            GatherCopySpec g => new GatherCopyOp(x, n.Output, g),
            BatchNormSpec b => new BatchNormOp(x, n.Output, shapes[x], b, b.RunningMean is null ? null : norms.GetValueOrDefault(b.RunningMean), n.Relu),
            ActivationSpec a => new ActivationOp(x, n.Output, a.Kind),
            MaxPool2dSpec m => new MaxPool2dOp(x, n.Output, m.Geometry, differentiable),
            AvgPool2dSpec a => AvgPool2x2Op.Takes(a) ? new AvgPool2x2Op(x, n.Output, a.Geometry) : new AvgPool2dOp(x, n.Output, a),
            AdaptiveAvgPool2dSpec a => new AdaptiveAvgPool2dOp(x, n.Output, a.Geometry),
            AddSpec => new AddOp(n.Inputs[0], n.Inputs[1], n.Output, n.Relu),
            LinearSpec l => new LinearOp(x, n.Output, l, shapes[x].Numel / shapes[x][-1]),
            EagerSpec e => new EagerOp(n.Traced!.Name, e.Replay, n.Traced.Inputs, n.Slots, [.. shapes], n.Output),
            _ => throw new InvalidOperationException($"Compile: no op for {n.Spec.GetType().Name}"),
        };
    }
}
