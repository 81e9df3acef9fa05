using CnnSharp.Kernels;
using CnnSharp.Onnx.Ops;

namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// Load-time graph rewrites that remove whole passes over activations: BatchNormalization folded into the Conv before
/// it, a Relu applied in place on the output of the Conv before it, and chains of small Conv [+ Relu] [+ MaxPool 2x2]
/// stages run on the direct convolution kernels in a channel-blocked layout.
/// </summary>
internal static class GraphFusion
{
    /// <summary>
    /// Folds an inference-mode BatchNormalization into the Conv that feeds it: with <c>s[k] = scale[k] / sqrt(var[k] + eps)</c>,
    /// <c>W'[k,…] = W[k,…] · s[k]</c> and <c>B'[k] = (B[k] − mean[k]) · s[k] + beta[k]</c>, so one convolution computes both.
    /// </summary>
    /// <remarks>
    /// Applies only when the Conv's weight and bias and all four BatchNormalization parameters are load-time constants
    /// (not overridable graph inputs), the convolution's output feeds nothing but that BatchNormalization and is not a
    /// graph output, and the parameter lengths match the output channels. Folding is computed in double; the result
    /// differs from the unfused pair only by float32 rounding.
    /// </remarks>
    public static List<ExecutionGraph.Step> FoldBatchNorm(List<ExecutionGraph.Step> steps, ref OnnxValue?[] constants, int[] graphOutputs)
    {
        var consumers = new Dictionary<int, int>();
        foreach (var s in steps)
            foreach (int i in s.Inputs)
                if (i >= 0) consumers[i] = consumers.GetValueOrDefault(i) + 1;
        var outputs = new HashSet<int>(graphOutputs);
        var producer = new Dictionary<int, ExecutionGraph.Step>();
        foreach (var s in steps)
            foreach (int o in s.Outputs)
                if (o >= 0) producer[o] = s;

        var removed = new HashSet<ExecutionGraph.Step>(ReferenceEqualityComparer.Instance);
        foreach (var bn in steps)
        {
            if (bn.Op is not BatchNormOp { IsTraining: false } bnOp) continue;
            if (bn.Outputs.Skip(1).Any(o => o >= 0)) continue;
            int x = bn.Inputs[0];
            if (!producer.TryGetValue(x, out var conv) || conv.Op is not ConvOp || removed.Contains(conv)) continue;
            if (consumers.GetValueOrDefault(x) != 1 || outputs.Contains(x) || conv.Outputs.Length != 1) continue;
            var w = constants[conv.Inputs[1]];
            var b = conv.Inputs.Length > 2 && conv.Inputs[2] >= 0 ? constants[conv.Inputs[2]] : null;
            bool hasBias = conv.Inputs.Length > 2 && conv.Inputs[2] >= 0;
            if (w is null || !w.IsFloat || w.Rank < 3 || (hasBias && b is null)) continue;
            var p = new OnnxValue?[4];
            for (int i = 0; i < 4; i++) p[i] = constants[bn.Inputs[i + 1]];
            int k = w.Shape[0];
            if (p.Any(v => v is null || !v.IsFloat || v.Count != k) || (b is not null && (!b.IsFloat || b.Count != k))) continue;

            float[] scale = p[0]!.Floats, beta = p[1]!.Floats, mean = p[2]!.Floats, variance = p[3]!.Floats;
            var newW = new float[w.Count];
            var newB = new float[k];
            BatchNormFolding.Fold(w.Floats, b is null ? default : b.Floats, scale, beta, mean, variance, bnOp.Epsilon, newW, newB);
            int wId = constants.Length, bId = constants.Length + 1;
            Array.Resize(ref constants, constants.Length + 2);
            constants[wId] = OnnxValue.FromFloats(newW, (int[])w.Shape.Clone());
            constants[bId] = OnnxValue.FromFloats(newB, [k]);
            conv.Inputs = [conv.Inputs[0], wId, bId];
            conv.Outputs = [bn.Outputs[0]];
            producer[bn.Outputs[0]] = conv;
            removed.Add(bn);
        }
        return steps.Where(s => !removed.Contains(s)).ToList();
    }

    /// <summary>
    /// Replaces Conv → Relu by one Conv that clamps its own output at zero, when the convolution's output feeds nothing
    /// but that Relu and is not a graph output. The result is identical (max(x, 0) on the same values). With
    /// <paramref name="constants"/>, a <c>Clip(0, max)</c> with load-time bounds and max ≥ 0 (PyTorch's ReLU6 exports as
    /// Clip(0, 6)) fuses the same way, clamping at max too (<see cref="ConvOp.FusedMax"/>).
    /// </summary>
    public static List<ExecutionGraph.Step> FuseConvRelu(List<ExecutionGraph.Step> steps, int[] graphOutputs, OnnxValue?[]? constants = null)
    {
        var consumers = new Dictionary<int, int>();
        foreach (var s in steps)
            foreach (int i in s.Inputs)
                if (i >= 0) consumers[i] = consumers.GetValueOrDefault(i) + 1;
        var outputs = new HashSet<int>(graphOutputs);
        var producer = new Dictionary<int, ExecutionGraph.Step>();
        foreach (var s in steps)
            foreach (int o in s.Outputs)
                if (o >= 0) producer[o] = s;

        var removed = new HashSet<ExecutionGraph.Step>(ReferenceEqualityComparer.Instance);
        foreach (var relu in steps)
        {
            float max;
            if (relu.Op is UnaryOp { Kind: UnaryKind.Relu }) max = float.PositiveInfinity;
            else if (relu.Op is ClipOp clip && constants is not null && clip.TryFixedBounds(relu.Inputs, constants, out float lo, out max)
                && lo == 0f && max >= 0f) { }
            else continue;
            int x = relu.Inputs[0];
            if (x < 0 || !producer.TryGetValue(x, out var conv) || conv.Op is not ConvOp convOp || convOp.FusedRelu) continue;
            if (consumers.GetValueOrDefault(x) != 1 || outputs.Contains(x) || conv.Outputs.Length != 1) continue;
            conv.Op = float.IsPositiveInfinity(max) ? convOp.WithFusedRelu() : convOp.WithFusedClip(max);
            conv.Outputs = [relu.Outputs[0]];
            producer[relu.Outputs[0]] = conv;
            removed.Add(relu);
        }
        return steps.Where(s => !removed.Contains(s)).ToList();
    }

    /// <summary>
    /// Replaces Conv → Add (a residual connection) by one Conv that adds the other operand in its epilogue: the Add's
    /// output becomes the Conv's, and the other operand its fourth input (<see cref="ConvOp.FusedResidual"/>); a Relu
    /// after the Add can then fuse too (<see cref="FuseConvRelu"/>). The result is identical: the same float sums.
    /// </summary>
    /// <remarks>
    /// Applies to a modern (opset 7+) Add when one operand is the output of a Conv without a fused Relu or residual, that
    /// output feeds nothing else and is not a graph output, and the other operand is computed before the Conv runs (or is
    /// a constant or graph input). When both operands qualify (ResNet's downsampling blocks: both are convolutions), the
    /// later Conv takes the Add.
    /// </remarks>
    public static List<ExecutionGraph.Step> FuseConvAdd(List<ExecutionGraph.Step> steps, int[] graphOutputs)
    {
        var consumers = new Dictionary<int, int>();
        foreach (var s in steps)
            foreach (int i in s.Inputs)
                if (i >= 0) consumers[i] = consumers.GetValueOrDefault(i) + 1;
        var outputs = new HashSet<int>(graphOutputs);
        var producer = new Dictionary<int, int>();
        for (int k = 0; k < steps.Count; k++)
            foreach (int o in steps[k].Outputs)
                if (o >= 0) producer[o] = k;

        var removed = new HashSet<ExecutionGraph.Step>(ReferenceEqualityComparer.Instance);
        foreach (var add in steps)
        {
            if (add.Op is not BinaryOp { Kind: Arithmetic.Add, IsLegacy: false } || add.Inputs.Length != 2) continue;
            int best = -1, bestOther = -1;
            for (int side = 0; side < 2; side++)
            {
                int x = add.Inputs[side], other = add.Inputs[1 - side];
                if (x < 0 || other < 0 || x == other || !producer.TryGetValue(x, out int at)) continue;
                var conv = steps[at];
                if (conv.Op is not ConvOp { FusedRelu: false, FusedResidual: false } || removed.Contains(conv)) continue;
                if (consumers.GetValueOrDefault(x) != 1 || outputs.Contains(x) || conv.Outputs.Length != 1) continue;
                if (producer.TryGetValue(other, out int otherAt) && otherAt >= at) continue; // not ready when the Conv runs
                if (best < 0 || at > best)
                {
                    best = at;
                    bestOther = other;
                }
            }
            if (best < 0) continue;
            var fused = steps[best];
            int[] inputs = fused.Inputs;
            fused.Op = ((ConvOp)fused.Op).WithFusedResidual();
            fused.Inputs = [inputs[0], inputs[1], inputs.Length > 2 ? inputs[2] : -1, bestOther];
            fused.Outputs = [add.Outputs[0]];
            producer[add.Outputs[0]] = best;
            removed.Add(add);
        }
        return steps.Where(s => !removed.Contains(s)).ToList();
    }

    /// <summary>
    /// Replaces chains of Conv [+ Relu] [+ MaxPool 2x2/2] stages by one <see cref="DirectConvChainOp"/> step that keeps
    /// the activations in the direct kernels' channel-blocked layout from the chain's input to its output.
    /// </summary>
    /// <remarks>
    /// <para>Decision (the tutorial's ConvNet's speed target): a general rewrite rather than recognising the tutorial's whole
    /// network, so any graph built of such stages benefits, and everything else (Reshape, Gemm, other operators) keeps
    /// its ordinary path in NCHW. The chain's output is converted back to NCHW, so a following Flatten/Reshape sees
    /// PyTorch's (C, H, W) order.</para>
    /// <para>A stage is a Conv whose weight (and bias, if any) are load-time constants, with one group, stride 1,
    /// dilation 1, a square k×k kernel with k ≥ 2, the same padding on all four sides, K output channels a multiple of 16 and C
    /// input channels 1 or a multiple of 16 (<see cref="Kernels.Direct.DirectConv2d"/>'s constraints); its fused Relu
    /// (<see cref="FuseConvRelu"/>) is kept. A MaxPool joins the stage when it is the only consumer of a Conv with a
    /// fused Relu, has kernel 2x2, stride 2, no padding, dilation 1, ceil_mode 0 and an Indices output nobody reads.
    /// The next stage joins when its Conv is the only consumer of the previous stage's output. No intermediate value
    /// may be a graph output. Whether a run uses the direct kernels is decided per input shape
    /// (<see cref="DirectConvChainOp"/>): large convolutions and inputs they do not cover run the original operators.</para>
    /// <para>A Conv with a fused residual Add (<see cref="FuseConvAdd"/>, and its Relu) that otherwise qualifies as a
    /// stage becomes a chain of its own, with the residual as the step's second input: it joins no other chain, and only
    /// a single image large enough for the Winograd split runs it on the direct kernels (ResNet's Conv+Add+Relu layers at
    /// batch 1); every other run is the fused Conv+Add operator itself.</para>
    /// </remarks>
    public static List<ExecutionGraph.Step> FuseDirectConvChains(List<ExecutionGraph.Step> steps, OnnxValue?[] constants, int[] graphOutputs)
    {
        var consumerCount = new Dictionary<int, int>();
        var consumer = new Dictionary<int, ExecutionGraph.Step>();
        foreach (var s in steps)
            foreach (int i in s.Inputs)
            {
                if (i < 0) continue;
                consumerCount[i] = consumerCount.GetValueOrDefault(i) + 1;
                consumer[i] = s;
            }
        var outputs = new HashSet<int>(graphOutputs);
        ExecutionGraph.Step? SoleConsumer(int value) =>
            consumerCount.GetValueOrDefault(value) == 1 && !outputs.Contains(value) ? consumer[value] : null;

        var replaced = new Dictionary<ExecutionGraph.Step, ExecutionGraph.Step>(ReferenceEqualityComparer.Instance);
        var removed = new HashSet<ExecutionGraph.Step>(ReferenceEqualityComparer.Instance);
        foreach (var first in steps)
        {
            if (removed.Contains(first)) continue;
            if (DirectStage(first, constants, residual: true) is { } residualStage)
            {
                replaced[first] = new ExecutionGraph.Step(first.Node, new DirectConvChainOp([residualStage]), [first.Inputs[0], first.Inputs[3]], [first.Outputs[0]]);
                continue;
            }
            if (DirectStage(first, constants) is not { } stage) continue;
            var stages = new List<DirectConvStage>();
            var members = new List<ExecutionGraph.Step> { first };
            int value = first.Outputs[0];
            while (true)
            {
                if (stage.Relu && SoleConsumer(value) is { } next && DirectPool(next, value, consumerCount, outputs) is { } pool)
                {
                    stage = stage.WithPool(pool);
                    members.Add(next);
                    value = next.Outputs[0];
                }
                stages.Add(stage);
                if (SoleConsumer(value) is { } following && following.Inputs[0] == value && !removed.Contains(following)
                    && DirectStage(following, constants) is { } nextStage && nextStage.InChannels == stage.OutChannels)
                {
                    stage = nextStage;
                    members.Add(following);
                    value = following.Outputs[0];
                    continue;
                }
                break;
            }
            replaced[first] = new ExecutionGraph.Step(first.Node, new DirectConvChainOp(stages), [first.Inputs[0]], [value]);
            foreach (var m in members.Skip(1)) removed.Add(m);
        }
        return steps.Where(s => !removed.Contains(s)).Select(s => replaced.GetValueOrDefault(s, s)).ToList();
    }

    /// <summary>The Conv of <paramref name="step"/> as a direct-kernel stage, or null when it does not qualify.</summary>
    /// <param name="step">The step.</param>
    /// <param name="constants">The load-time constants.</param>
    /// <param name="residual">Accept only a Conv with a fused residual Add (input 3, a value), else only one without.</param>
    private static DirectConvStage? DirectStage(ExecutionGraph.Step step, OnnxValue?[] constants, bool residual = false)
    {
        if (step.Op is not ConvOp conv || conv.FusedResidual != residual || conv.FusedMax < float.PositiveInfinity || step.Inputs.Length < 2 || step.Inputs[0] < 0 || step.Inputs[1] < 0) return null;
        if (residual && (step.Inputs.Length != 4 || step.Inputs[3] < 0)) return null;
        if (step.Outputs.Length != 1 || step.Outputs[0] < 0) return null;
        if (constants[step.Inputs[1]] is not { IsFloat: true, Rank: 4 } w) return null;
        int k = w.Shape[0], c = w.Shape[1], kh = w.Shape[2], kw = w.Shape[3];
        // A 1x1 convolution stays on the GEMM: its input is already the GEMM's operand, and the layout conversions at the
        // chain's ends cost more than the direct kernel saves (MobileNet-v2's projections ran 5x slower in a chain).
        if (k <= 0 || k % 16 != 0 || (c != 1 && (c <= 0 || c % 16 != 0)) || kh != kw || kh < 2) return null;
        OnnxValue? bias = null;
        if (step.Inputs.Length > 2 && step.Inputs[2] >= 0)
        {
            bias = constants[step.Inputs[2]];
            if (bias is null || !bias.IsFloat || bias.Count != k) return null;
        }
        var window = conv.Window;
        if (conv.Groups != 1 || window.SpatialRank is int r && r != 2) return null;
        if (window.Strides is { } strides && strides.Any(v => v != 1)) return null;
        if (window.Dilations is { } dilations && dilations.Any(v => v != 1)) return null;
        // At stride 1 the padding does not depend on the input size (SAME pads k - 1 in total), so any size shows it.
        var (top, bottom) = window.Padding(0, 2, kh + 1, kh);
        var (left, right) = window.Padding(1, 2, kw + 1, kw);
        if (top != bottom || left != right || top != left) return null;
        return new DirectConvStage(conv, w, bias, top, null);
    }

    /// <summary>The MaxPool of <paramref name="step"/> when it is 2x2/2 without padding over <paramref name="input"/> and its Indices are unused.</summary>
    private static PoolOp? DirectPool(ExecutionGraph.Step step, int input, Dictionary<int, int> consumerCount, HashSet<int> outputs)
    {
        if (step.Op is not PoolOp { IsMax: true, CeilMode: false } pool || step.Inputs.Length != 1 || step.Inputs[0] != input) return null;
        if (step.Outputs.Length < 1 || step.Outputs[0] < 0) return null;
        if (step.Outputs.Length > 1 && step.Outputs[1] >= 0 && (consumerCount.GetValueOrDefault(step.Outputs[1]) > 0 || outputs.Contains(step.Outputs[1])))
            return null;
        var window = pool.Window;
        if (window.Kernel is not [2, 2] || window.Strides is not [2, 2]) return null;
        if (window.Dilations is { } dilations && dilations.Any(v => v != 1)) return null;
        if (window.AutoPad is not ("NOTSET" or "VALID") || window.Pads is { } pads && pads.Any(v => v != 0)) return null;
        return pool;
    }
}
