using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Weight packing of <see cref="ConvChainOp"/>'s stages, once per forward and once per backward in training plans.</summary>
internal sealed partial class ConvChainOp
{
    /// <summary>Whether the packing runs on all the step's threads (default) or on the calling thread alone (a run-time
    /// switch for <c>bench plan-ab --switch packing</c>; the same bits either way).</summary>
    internal static bool SplitPacking { get; set; } = true;

    /// <summary>
    /// Whether an inference chain whose weights may change (not frozen) skips the packing of a forward when the tensors it
    /// packs from hold the bits of the last packing (<see cref="PackSourceSnapshot"/>; read when a chain is planned; default
    /// on; <c>bench plan-ab --switch eval-pack</c>). The same packed bits either way; ResNet-8's eval forward at batch 64
    /// packed on every call before, 0.2-0.35 ms of the calling thread's CPU plus the worker's share and a fork-join
    /// (eval wall B/A 0.81-0.84, docs/performance.md, stop 18).
    /// </summary>
    internal static bool ReusePackedWeights { get; set; } = true;

    /// <summary>Forwards that packed their weights (for tests: only ever grows).</summary>
    internal static long ForwardPackings;

    // Inference plans: what the last forward packed from, or null (training plans, frozen weights, or the switch off).
    private readonly PackSourceSnapshot? _packSources;

    // Every tensor a forward's packing reads: the stages' weights and biases, their evaluation-mode batch norms' parameters
    // and running statistics (the affine map), the projections' and their batch norms' (folded into them).
    private IEnumerable<Tensor?> PackSources()
    {
        foreach (var l in _layers)
        {
            yield return l.Weight;
            yield return l.Bias;
            if (l.Stage.Norm is { Training: false } n) foreach (var t in NormTensors(n)) yield return t;
        }
        foreach (var p in _projections)
        {
            if (p is null) continue;
            yield return p.Spec.Conv.Weight;
            yield return p.Spec.Conv.Bias;
            if (p.Spec.Norm is { } n) foreach (var t in NormTensors(n)) yield return t;
        }
    }

    private static Tensor?[] NormTensors(BatchNormSpec n) => [n.Weight, n.Bias, n.RunningMean, n.RunningVar];

    private bool _packForward;
    private int _packParts;
    private Action<int>? _packPart;

    // Forward: every stage's forward weights; backward: the input-gradient weights of the stages that compute one. Split
    // over the step's threads (Winograd transforms by output channels: about 0.3 ms for 64 -> 64 even vectorised, 36
    // divisions per four weights in double; direct ones, strided gathers, by weight panels), which write disjoint
    // elements with the same values: ResNet-8 packed 1.8 ms of wall time per step on the calling thread alone.
    private void PackLayers(bool forward)
    {
        _packForward = forward;
        _packParts = SplitPacking ? _active : 1;
        for (int s = FirstPacked; s < _layers.Length; s++) _layers[s].PrepareWeights(forward);
        foreach (var tp in _trainProjections) if (Packs(tp)) tp.Layer.PrepareWeights(forward);
        _packPart ??= PackLayersPart;
        long t = ForwardNow();
        if (_packParts == 1) PackLayersPart(0);
        else WorkerPool.Shared.Run(_packParts, _packPart);
        ForwardMark(t, 0, 5);
    }

    private void PackLayersPart(int part)
    {
        for (int s = FirstPacked; s < _layers.Length; s++) _layers[s].PackPart(_packForward, part, _packParts);
        foreach (var tp in _trainProjections) if (Packs(tp)) tp.Layer.PackPart(_packForward, part, _packParts);
    }

    // A training projection's weights: forward, and its input-gradient weights unless it reads the chain input, which has none.
    private bool Packs(TrainProjection tp) => _packForward || _inputGrad || tp.Source > 0;

    // Backward packs no input-gradient weights for the first stage when the chain input has no gradient.
    private int FirstPacked => _packForward || _inputGrad ? 0 : 1;
}
