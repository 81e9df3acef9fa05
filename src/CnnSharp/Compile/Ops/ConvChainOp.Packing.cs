using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>Weight packing of <see cref="ConvChainOp"/>'s stages, once per forward and once per backward in training plans.</summary>
internal sealed partial class ConvChainOp
{
    private bool _packForward;
    private int _packParts;
    private Action<int>? _packPart;

    // Forward: every stage's forward weights; backward: the input-gradient weights of the stages that compute one. Winograd
    // transforms (about 0.3 ms for 64 -> 64 even vectorised: 36 divisions per four weights, in double) are split over the
    // step's threads by output channels, which write disjoint elements with the same values; the rest is a permutation
    // and stays on the calling thread.
    private void PackLayers(bool forward)
    {
        _packForward = forward;
        _packParts = 1;
        for (int s = FirstPacked; s < _layers.Length; s++)
        {
            _layers[s].ExpandWeights();
            if (_layers[s].PacksWinograd(forward)) _packParts = _active;
        }
        _packPart ??= PackLayersPart;
        if (_packParts == 1) PackLayersPart(0);
        else WorkerPool.Shared.Run(_packParts, _packPart);
    }

    private void PackLayersPart(int part)
    {
        for (int s = FirstPacked; s < _layers.Length; s++) _layers[s].PackPart(_packForward, part, _packParts);
    }

    // Backward packs no input-gradient weights for the first stage when the chain input has no gradient.
    private int FirstPacked => _packForward || _inputGrad ? 0 : 1;
}
