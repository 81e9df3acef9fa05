using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Kernels;

/// <summary>Which pass of a convolution a <see cref="ConvWorkload"/> runs.</summary>
public enum ConvPass
{
    /// <summary>y = conv(x) + b.</summary>
    Forward,

    /// <summary>dx from dy (transposed, flipped weights).</summary>
    BackwardInput,

    /// <summary>dW accumulated over the batch, per-thread private accumulators summed at the end.</summary>
    BackwardWeight,

    /// <summary>y = conv(x) + b by Winograd F(2x2, 5x5) (FLOPs counted as the direct conv's: "effective").</summary>
    WinogradForward,

    /// <summary>dx by Winograd F(2x2, 5x5) on the transposed, flipped weights (effective FLOPs).</summary>
    WinogradBackwardInput,
}

/// <summary>
/// One direct-convolution pass over a batch with buffers planned once, split over the batch on the worker pool
/// exactly as the fused training engine does. Used by the BenchmarkDotNet classes and by the quick <c>kernels</c> mode.
/// </summary>
public sealed unsafe class ConvWorkload
{
    private readonly DirectConv2d _plan;
    private readonly DirectConv2d? _dxPlan;
    private readonly WinogradConv2d? _wino;
    private readonly AlignedBuffer[] _scratch = [];
    private readonly AlignedBuffer _x, _y, _w, _bias, _dyPad;
    private readonly AlignedBuffer[] _acc;
    private readonly int _batch;
    private readonly ConvPass _pass;
    private readonly Action<int> _body;
    private int _threads;

    /// <summary>Plans the pass for a batch of <paramref name="batch"/> images.</summary>
    public ConvWorkload(string name, int inChannels, int outChannels, int kernelSize, int padding, int size, int batch, ConvPass pass, int maxThreads,
        int tilesPerBlock = WinogradConv2d.DefaultTilesPerBlock)
    {
        Name = name;
        _pass = pass;
        _batch = batch;
        var path = Isa.Level;
        _plan = new DirectConv2d(inChannels, outChannels, kernelSize, padding, size, size, path);
        var rng = new Random(1);
        _x = Filled(_plan.InputImage * batch, rng);
        _y = new AlignedBuffer(_plan.OutputImage * batch);
        _w = new AlignedBuffer(_plan.WeightLength);
        _bias = Filled(outChannels, rng);
        var weight = new float[_plan.WeightLength];
        for (int i = 0; i < weight.Length; i++) weight[i] = (float)(rng.NextDouble() - 0.5);
        if (pass is ConvPass.WinogradForward or ConvPass.WinogradBackwardInput)
        {
           var forward = new WinogradConv2d(inChannels, outChannels, padding, size, size, tilesPerBlock);
            _wino = pass == ConvPass.WinogradForward ? forward : WinogradConv2d.ForBackwardInput(forward, tilesPerBlock);
            _w = new AlignedBuffer(_wino.PackedLength);
            _wino.PackWeights(weight, transposeAndFlip: pass == ConvPass.WinogradBackwardInput, _w.Pointer);
            _dyPad = Filled(_wino.InputImage * batch, rng);
            _y = new AlignedBuffer(_wino.OutputImage * batch);
            _scratch = new AlignedBuffer[maxThreads];
            for (int t = 0; t < maxThreads; t++) _scratch[t] = new AlignedBuffer(_wino.ScratchLength);
        }
        else if (pass == ConvPass.BackwardInput)
        {
            _dxPlan = DirectConv2d.ForBackwardInput(_plan);
            _dxPlan.PackWeights(weight, transposeAndFlip: true, _w.Pointer);
            _dyPad = Filled(_dxPlan.InputImage * batch, rng);
        }
        else
        {
            _plan.PackWeights(weight, transposeAndFlip: false, _w.Pointer);
            _dyPad = Filled(_plan.OutputImage * batch, rng);
        }
        _acc = new AlignedBuffer[maxThreads];
        for (int t = 0; t < maxThreads; t++) _acc[t] = new AlignedBuffer(_plan.WeightLength);
        _body = Chunk;
        Flops = 2.0 * _plan.MacsPerImage * batch;
    }

    /// <summary>Label for reports.</summary>
    public string Name { get; }

    /// <summary>Floating-point operations of one run over the batch.</summary>
    public double Flops { get; }

    /// <summary>Runs the pass once over the batch on <paramref name="threads"/> threads.</summary>
    public void Run(int threads)
    {
        _threads = threads;
        WorkerPool.Shared.Run(threads, _body);
    }

    private void Chunk(int t)
    {
        int start = _batch * t / _threads, end = _batch * (t + 1) / _threads;
        var p = _plan;
        if (_pass == ConvPass.BackwardWeight) _acc[t].Clear();
        for (int n = start; n < end; n++)
        {
            switch (_pass)
            {
                case ConvPass.Forward:
                    p.ForwardImage(_x.Pointer + (long)n * p.InputImage, _w.Pointer, _bias.Pointer, _y.Pointer + (long)n * p.OutputImage,
                        p.OutputPlane, p.OutWidth * 16, null, null, relu: false);
                    break;
                case ConvPass.BackwardInput:
                    var d = _dxPlan!;
                    d.ForwardImage(_dyPad.Pointer + (long)n * d.InputImage, _w.Pointer, null, _x.Pointer + (long)n * d.OutputImage,
                        d.OutputPlane, d.OutWidth * 16, null, null, relu: false);
                    break;
                case ConvPass.WinogradForward:
                case ConvPass.WinogradBackwardInput:
                    var wp = _wino!;
                    wp.ForwardImage(_dyPad.Pointer + (long)n * wp.InputImage, _w.Pointer, _pass == ConvPass.WinogradForward ? _bias.Pointer : null,
                        _y.Pointer + (long)n * wp.OutputImage, wp.OutputPlane, wp.OutWidth * 16, null, null, relu: false, _scratch[t].Pointer);
                    break;
                default:
                    p.WeightGradImage(_x.Pointer + (long)n * p.InputImage, _dyPad.Pointer + (long)n * p.OutputImage, p.OutputPlane,
                        p.OutWidth * 16, _acc[t].Pointer);
                    break;
            }
        }
    }

    private static AlignedBuffer Filled(int length, Random rng)
    {
        var b = new AlignedBuffer(length);
        var s = b.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)(rng.NextDouble() - 0.5);
        return b;
    }

    /// <summary>The seed ConvNet's passes plus a ResNet-style 3x3 layer, at the given batch.</summary>
    public static ConvWorkload[] All(int batch, int maxThreads) =>
    [
        new("conv1 fwd (1->16, 5x5, 28x28)", 1, 16, 5, 2, 28, batch, ConvPass.Forward, maxThreads),
        new("conv1 dW", 1, 16, 5, 2, 28, batch, ConvPass.BackwardWeight, maxThreads),
        new("conv2 fwd (16->32, 5x5, 14x14)", 16, 32, 5, 2, 14, batch, ConvPass.Forward, maxThreads),
        new("conv2 fwd Winograd F(2x2,5x5)", 16, 32, 5, 2, 14, batch, ConvPass.WinogradForward, maxThreads),
        new("conv2 dX", 16, 32, 5, 2, 14, batch, ConvPass.BackwardInput, maxThreads),
        new("conv2 dX Winograd F(2x2,5x5)", 16, 32, 5, 2, 14, batch, ConvPass.WinogradBackwardInput, maxThreads),
        new("conv2 dW", 16, 32, 5, 2, 14, batch, ConvPass.BackwardWeight, maxThreads),
        new("3x3 64->64 32x32 fwd (batch 32)", 64, 64, 3, 1, 32, 32, ConvPass.Forward, maxThreads),
    ];
}
