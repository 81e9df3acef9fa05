using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Training.Fast;

/// <summary>
/// Eval-mode inference for the seed's <c>ConvNet</c>: batch norm folded into the convolutions, each conv's epilogue
/// adding the folded bias and applying ReLU, then a 2x2 max-pool pass writing the next layer's padded input; logits out.
/// Equivalent to <c>model.Eval(); model.Forward(x)</c> under <c>NoGrad</c>.
/// </summary>
/// <remarks>
/// The folded weights are a snapshot: call <see cref="Refresh"/> after the parameters or running statistics change
/// (for example after a training epoch). Batches are split over <see cref="Parallelism.MaxThreads"/> threads of the worker
/// pool; a single image runs on the calling thread. All scratch is per thread and per image, planned once; predicting
/// allocates nothing except through the <see cref="Predict(Tensor)"/> convenience overload's result tensor.
/// Not thread-safe: one call at a time per predictor.
/// Folding (PyTorch's <c>fuse_conv_bn_weights</c>): with s = gamma / sqrt(running_var + eps),
/// W' = W * s (per output channel) and b' = (b - running_mean) * s + beta.
/// </remarks>
public sealed unsafe class ConvNetPredictor
{
    private readonly ConvNetParameters _p;
    private readonly float _eps;
    private readonly IsaLevel _path;
    private readonly DirectConv2d _conv1, _conv2;
    private readonly int _size, _half, _quarter, _c1, _c2, _classes, _features;
    private readonly AlignedBuffer _w1, _w2, _b1, _b2, _one, _zero;

    // Winograd F(2x2, 5x5) for conv2 where the path and shape allow it (as in ConvNetEngine's forward pass).
    private readonly WinogradConv2d? _wino2;
    private readonly float[] _fcWeight, _fcBias;
    private Scratch[] _scratch = [];
    private readonly Action<int, int> _body;
    private float* _images, _out;
    private int _active;

    /// <summary>Snapshots (folds) the live tensors of a seed ConvNet's state dict for inference.</summary>
    /// <param name="stateDict">PyTorch keys <c>layer1.0.weight</c> ... <c>fc.bias</c>.</param>
    /// <param name="batchNormEps">BatchNorm2d's eps (PyTorch default 1e-5).</param>
    /// <exception cref="ArgumentException">The state dict is not a supported ConvNet (message names the key or shape).</exception>
    public ConvNetPredictor(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, float batchNormEps = 1e-5f)
        : this(stateDict, batchNormEps, Isa.Level)
    {
    }

    internal ConvNetPredictor(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, float batchNormEps, IsaLevel path)
    {
        _p = ConvNetParameters.Create(stateDict, nameof(ConvNetPredictor));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchNormEps);
        _eps = batchNormEps;
        _path = path;
        _size = _p.ImageSize;
        _half = _size / 2;
        _quarter = _size / 4;
        _c1 = _p.C1;
        _c2 = _p.C2;
        _classes = _p.Classes;
        _features = _p.Features;
        (_conv1, _conv2) = _p.CreateConvolutions(path);
        _w1 = new AlignedBuffer(_conv1.WeightLength);
        _wino2 = WinogradConv2d.For(_conv2);
        _w2 = new AlignedBuffer(_wino2?.PackedLength ?? _conv2.WeightLength);
        _b1 = new AlignedBuffer(_c1);
        _b2 = new AlignedBuffer(_c2);
        _one = new AlignedBuffer(Math.Max(_c1, _c2));
        _one.Span.Fill(1f);
        _zero = new AlignedBuffer(Math.Max(_c1, _c2));
        _fcWeight = new float[_classes * _features];
        _fcBias = new float[_classes];
        _body = Body;
        Refresh();
    }

    /// <summary>Thread count to use instead of <see cref="Parallelism.MaxThreads"/> (tests; null follows the global setting).</summary>
    internal int? ThreadsOverride { get; set; }

    /// <summary>Side of the square single-channel input images (28 for the seed).</summary>
    public int ImageSize => _size;

    /// <summary>Number of logits per image.</summary>
    public int NumClasses => _classes;

    /// <summary>Re-reads the parameters and running statistics and folds them again.</summary>
    public void Refresh()
    {
        Fold(_conv1, _p.Conv1Weight.Data, _p.Conv1Bias.Data, _p.Bn1Weight.Data, _p.Bn1Bias.Data, _p.Bn1RunningMean.Data, _p.Bn1RunningVar.Data, _w1, _b1);
        Fold(_conv2, _p.Conv2Weight.Data, _p.Conv2Bias.Data, _p.Bn2Weight.Data, _p.Bn2Bias.Data, _p.Bn2RunningMean.Data, _p.Bn2RunningVar.Data, _w2, _b2);
        _p.FcWeight.Data.CopyTo(_fcWeight);
        _p.FcBias.Data.CopyTo(_fcBias);
    }

    /// <summary>Logits of <paramref name="count"/> images.</summary>
    /// <param name="images">count * S * S pixels, image after image (the layout of a (N, 1, S, S) tensor).</param>
    /// <param name="count">Number of images.</param>
    /// <param name="logits">Receives count * <see cref="NumClasses"/> logits, row after row.</param>
    /// <exception cref="ArgumentException">A span is too short.</exception>
    public void Predict(ReadOnlySpan<float> images, int count, Span<float> logits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (images.Length < (long)count * _size * _size)
            throw new ArgumentException($"ConvNetPredictor: {count} images of {_size}x{_size} need {count * _size * _size} values, got {images.Length}", nameof(images));
        if (logits.Length < count * _classes)
            throw new ArgumentException($"ConvNetPredictor: {count} images need {count * _classes} logits, got {logits.Length}", nameof(logits));
        if (count == 0) return;
        _active = Math.Min(ThreadsOverride ?? Parallelism.MaxThreads, count);
        if (_active > _scratch.Length)
        {
            var grown = new Scratch[_active];
            Array.Copy(_scratch, grown, _scratch.Length);
            for (int t = _scratch.Length; t < _active; t++) grown[t] = new Scratch(this);
            _scratch = grown;
        }
        fixed (float* img = images)
        fixed (float* o = logits)
        {
            _images = img;
            _out = o;
            try
            {
                // One image per claim: images are independent, so whichever thread runs one cannot change its logits, and a
                // thread that loses its core leaves the remaining images to the other.
                WorkerPool.Shared.RunDynamic(_active, count, _body);
            }
            finally
            {
                _images = null;
                _out = null;
            }
        }
    }

    /// <summary>Logits of a batch.</summary>
    /// <param name="images">Shape (N, 1, S, S), S = <see cref="ImageSize"/>.</param>
    /// <returns>Shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The images do not have shape (N, 1, S, S).</exception>
    public Tensor Predict(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var s = images.Shape;
        if (s.Rank != 4 || s[1] != 1 || s[2] != _size || s[3] != _size)
            throw new ShapeException($"ConvNetPredictor: expected images (N, 1, {_size}, {_size}), got {s}");
        var result = Tensor.Zeros(s[0], _classes);
        Predict(images.Data, s[0], result.Data);
        return result;
    }

    private void Body(int n, int t)
    {
        var sc = _scratch[t];
        var c1 = _conv1;
        var c2 = _conv2;
        int q = _quarter * _quarter;
        float* x2 = sc.X2.Pointer;
        float* src = _images + (long)n * _size * _size;
        for (int r = 0; r < _size; r++)
            new ReadOnlySpan<float>(src + r * _size, _size).CopyTo(new Span<float>(sc.X1.Pointer + (r + c1.Padding) * c1.PaddedWidth + c1.Padding, _size));
        c1.ForwardImage(sc.X1.Pointer, _w1.Pointer, _b1.Pointer, sc.Y1.Pointer, c1.OutputPlane, _size * 16, null, null, relu: true);
        // Identity affine map: the folded conv already applied BN and ReLU, so this pass is the 2x2 max-pool.
        BnReluPool.Forward(_path, sc.Y1.Pointer, _c1 / 16, _size, _size, _one.Pointer, _zero.Pointer,
            x2 + c2.Padding * c2.InputRow + c2.Padding * 16, c2.InputPlane, c2.InputRow);
        if (_wino2 is not null)
            _wino2.ForwardImage(x2, _w2.Pointer, _b2.Pointer, sc.Y2.Pointer, c2.OutputPlane, _half * 16, null, null, relu: true, sc.Winograd.Pointer);
        else
            c2.ForwardImage(x2, _w2.Pointer, _b2.Pointer, sc.Y2.Pointer, c2.OutputPlane, _half * 16, null, null, relu: true);
        BnReluPool.Forward(_path, sc.Y2.Pointer, _c2 / 16, _half, _half, _one.Pointer, _zero.Pointer, sc.Pooled.Pointer, q * 16, _quarter * 16);
        BlockedLayout.ToChannelMajor(sc.Pooled.Pointer, sc.Features.Pointer, _c2, q);
        var feat = new ReadOnlySpan<float>(sc.Features.Pointer, _features);
        float* o = _out + (long)n * _classes;
        for (int k = 0; k < _classes; k++)
            o[k] = _fcBias[k] + TensorPrimitives.Dot(new ReadOnlySpan<float>(_fcWeight, k * _features, _features), feat);
    }

    private void Fold(DirectConv2d plan, ReadOnlySpan<float> w, ReadOnlySpan<float> b, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> var, AlignedBuffer packed, AlignedBuffer bias)
    {
        var folded = new float[w.Length];
        BatchNormFolding.Fold(w, b, gamma, beta, mean, var, _eps, folded, bias.Span);
        if (plan == _conv2 && _wino2 is not null) _wino2.PackWeights(folded, transposeAndFlip: false, packed.Pointer);
        else plan.PackWeights(folded, transposeAndFlip: false, packed.Pointer);
    }

    private sealed class Scratch(ConvNetPredictor p)
    {
        public AlignedBuffer X1 { get; } = new(p._conv1.InputImage);
        public AlignedBuffer Y1 { get; } = new(p._conv1.OutputImage);
        public AlignedBuffer X2 { get; } = new(p._conv2.InputImage);
        public AlignedBuffer Y2 { get; } = new(p._conv2.OutputImage);
        public AlignedBuffer Winograd { get; } = new(p._wino2?.ScratchLength ?? 0);
        public AlignedBuffer Pooled { get; } = new(p._c2 * p._quarter * p._quarter);
        public AlignedBuffer Features { get; } = new(p._features);
    }
}
