using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Training.Fast;

/// <summary>
/// A fused, allocation-free training step for the seed's <c>ConvNet</c> (conv-BN-ReLU-pool twice, then linear) that
/// reads and writes the model's live tensors: forward in training mode, mean cross-entropy, backward into every
/// parameter's <see cref="Tensor.Grad"/>, and PyTorch's batch-norm running-statistics update. An optimizer then steps
/// on the same tensors.
/// </summary>
/// <remarks>
/// <para>Equivalent to <c>optimizer.ZeroGrad(); loss = F.CrossEntropy(model.Forward(x), y); loss.Backward();</c> on the
/// generic path: gradients are overwritten (allocated on first use, then reused), running_mean/running_var are updated with
/// momentum 0.1 (unbiased batch variance for running_var) and num_batches_tracked grows by one.</para>
/// <para>How: direct convolution kernels on channel-blocked layouts (<see cref="DirectConv2d"/>), except conv2's forward
/// and input gradient, which run Winograd F(2x2, 5x5) (<see cref="WinogradConv2d"/>, 2.8x fewer multiplies) on the
/// AVX2/AVX-512 paths when conv2 is 5x5; the conv epilogue
/// collects the batch-norm sums; one pass applies BN + ReLU + 2x2 max-pool and writes the next conv's padded input; the
/// backward recomputes the pooling argmax and fuses pool, ReLU and BN backward into two passes; conv1's input gradient is
/// never computed. The batch is cut into fixed chunks of about <see cref="ImagesPerChunk"/> images that the threads of the
/// persistent worker pool (<see cref="Parallelism.MaxThreads"/>) claim dynamically, so a thread that loses its core for a
/// while does not hold the other up; every chunk has its own weight-gradient and statistics accumulators, summed in chunk
/// order, so results do not depend on timing or on the thread count (bit for bit).
/// Buffers are planned once for the largest batch seen; later steps allocate nothing on the managed heap.</para>
/// <para>Not thread-safe: one step at a time per engine.</para>
/// </remarks>
public sealed unsafe class ConvNetEngine
{
    private readonly ConvNetParameters _p;
    private readonly IsaLevel _path;
    private readonly float _eps;
    private readonly float _momentum;
    private readonly DirectConv2d _conv1, _conv2, _conv2Dx;
    // Winograd F(2x2, 5x5) plans for conv2's forward and input gradient (null where the path or the shape rules it out).
    private readonly WinogradConv2d? _wino2, _wino2Dx;
    private readonly int _size, _half, _quarter, _c1, _c2, _classes, _features;

    // Per-step constants (aligned): packed weights, biases, BN affine maps and backward coefficients.
    private readonly AlignedBuffer _w1, _w2, _w2t, _bias1, _bias2;
    private readonly LayerState _bn1, _bn2;

    // Batch buffers, sized for _capacity images.
    private int _capacity;
    private AlignedBuffer _x1 = new(0), _y1 = new(0), _x2 = new(0), _y2 = new(0), _feat = new(0), _g2 = new(0), _g1 = new(0);
    private double[] _logits = [], _dlogits = [];
    private ThreadState[] _threads = [];
    private ChunkState[] _chunks = [];

    // Step inputs, valid during one call.
    private float* _images;
    private int _count, _active, _chunkCount;

    // Set when a batch-norm layer's batch statistics are not finite (NaN or infinite activations): the loss is then NaN.
    private bool _nonFiniteStatistics;

    private readonly Action<int, int> _forward1, _forward2, _forward3, _backward1, _backward2, _backward3;

    /// <summary>Binds the engine to the live tensors of a seed ConvNet's state dict (e.g. <c>model.StateDict()</c>).</summary>
    /// <param name="stateDict">PyTorch keys <c>layer1.0.weight</c> ... <c>fc.bias</c>, the tensors the model owns.</param>
    /// <param name="batchNormEps">BatchNorm2d's eps (PyTorch default 1e-5).</param>
    /// <param name="batchNormMomentum">BatchNorm2d's momentum (PyTorch default 0.1).</param>
    /// <exception cref="ArgumentException">The state dict is not a supported ConvNet (message names the key or shape).</exception>
    public ConvNetEngine(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, float batchNormEps = 1e-5f, float batchNormMomentum = 0.1f)
        : this(stateDict, batchNormEps, batchNormMomentum, Isa.Level)
    {
    }

    internal ConvNetEngine(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict, float batchNormEps, float batchNormMomentum, IsaLevel path)
    {
        _p = ConvNetParameters.Create(stateDict, nameof(ConvNetEngine));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchNormEps);
        _eps = batchNormEps;
        _momentum = batchNormMomentum;
        _path = path;
        _size = _p.ImageSize;
        _half = _size / 2;
        _quarter = _size / 4;
        _c1 = _p.C1;
        _c2 = _p.C2;
        _classes = _p.Classes;
        _features = _p.Features;
        (_conv1, _conv2) = _p.CreateConvolutions(path);
        _conv2Dx = DirectConv2d.ForBackwardInput(_conv2);
        _wino2 = WinogradConv2d.For(_conv2);
        _wino2Dx = _wino2 is null ? null : WinogradConv2d.ForBackwardInput(_wino2);
        _w1 = new AlignedBuffer(_conv1.WeightLength);
        _w2 = new AlignedBuffer(_wino2?.PackedLength ?? _conv2.WeightLength);
        _w2t = new AlignedBuffer(_wino2Dx?.PackedLength ?? _conv2.WeightLength);
        _bias1 = new AlignedBuffer(_c1);
        _bias2 = new AlignedBuffer(_c2);
        _bn1 = new LayerState(_c1);
        _bn2 = new LayerState(_c2);
        _forward1 = Forward1;
        _forward2 = Forward2;
        _forward3 = Forward3;
        _backward1 = Backward1;
        _backward2 = Backward2;
        _backward3 = Backward3;
    }

    /// <summary>Whether <paramref name="stateDict"/> is a ConvNet this engine can train (keys and shapes).</summary>
    public static bool Supports(IReadOnlyList<KeyValuePair<string, Tensor>> stateDict) => ConvNetParameters.TryCreate(stateDict, out _) is not null;

    /// <summary>Thread count to use instead of <see cref="Parallelism.MaxThreads"/> (tests; null follows the global setting).</summary>
    internal int? ThreadsOverride { get; set; }

    /// <summary>
    /// Images per work chunk. Chunks, not threads, own the gradient accumulators, so the chunk count (a function of the
    /// batch size only) fixes the summation order. Five images of the seed's ConvNet are ~0.7 ms of work on one core: small
    /// enough that the last chunk of a phase leaves little idle time, large enough that the 20 accumulators of a
    /// 100-image batch cost ~1% of the step to clear and reduce.
    /// </summary>
    internal const int ImagesPerChunk = 5;

    /// <summary>Side of the square single-channel input images (28 for the seed).</summary>
    public int ImageSize => _size;

    /// <summary>
    /// One training step: forward (batch statistics), mean cross-entropy against <paramref name="labels"/>, backward into
    /// the parameters' gradients, running-statistics update. Returns the batch's mean loss.
    /// </summary>
    /// <remarks>
    /// The loss is NaN when a trainable parameter or a batch-norm batch statistic is NaN or infinite, even where the
    /// forward pass would hide it (ReLU and max-pool drop NaN, so NaN convolution weights can leave finite logits): a
    /// diverged model never reports a finite loss. The check reads each parameter once per step.
    /// </remarks>
    /// <param name="images">Shape (N, 1, S, S), S = <see cref="ImageSize"/>.</param>
    /// <param name="labels">N class indices.</param>
    /// <exception cref="ShapeException">The images do not have shape (N, 1, S, S) or N differs from the label count.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, classes).</exception>
    public float TrainStep(Tensor images, ReadOnlySpan<int> labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        var s = images.Shape;
        if (s.Rank != 4 || s[1] != 1 || s[2] != _size || s[3] != _size || s[0] != labels.Length || s[0] < 1)
            throw new ShapeException($"ConvNetEngine: expected images (N, 1, {_size}, {_size}) with N = {labels.Length} labels, got {s}");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)_classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"ConvNetEngine: label {i} must be in [0, {_classes})");
        int n = s[0];
        if (n * _size * _size < 2)
            throw new ArgumentException("ConvNetEngine: batch norm in training mode needs more than one value per channel");
        _count = n;
        _chunkCount = (n + ImagesPerChunk - 1) / ImagesPerChunk;
        _active = Math.Min(ThreadsOverride ?? Parallelism.MaxThreads, _chunkCount);
        EnsureCapacity(n, _active, _chunkCount);

        bool finite = ParametersFinite();
        _nonFiniteStatistics = false;
        PrepareWeights();
        fixed (float* img = images.Data)
        {
            _images = img;
            try
            {
                Run(_forward1);
                FinishStatistics(_bn1, _p.Bn1Weight, _p.Bn1Bias, _p.Bn1RunningMean, _p.Bn1RunningVar, _p.Bn1Batches, (double)n * _size * _size);
                Run(_forward2);
                FinishStatistics(_bn2, _p.Bn2Weight, _p.Bn2Bias, _p.Bn2RunningMean, _p.Bn2RunningVar, _p.Bn2Batches, (double)n * _half * _half);
                Run(_forward3);
            }
            finally
            {
                _images = null;
            }
        }

        double loss = LossAndLogitGradient(labels);
        Run(_backward1);
        FinishBackward(_bn2, _p.Bn2Weight, _p.Bn2Bias, (double)n * _half * _half);
        ReduceFcGradient();
        Run(_backward2);
        FinishBackward(_bn1, _p.Bn1Weight, _p.Bn1Bias, (double)n * _size * _size);
        ReduceConvGradient(_conv2, _p.Conv2Weight, _p.Conv2Bias, useConv2: true);
        Run(_backward3);
        ReduceConvGradient(_conv1, _p.Conv1Weight, _p.Conv1Bias, useConv2: false);
        return finite && !_nonFiniteStatistics ? (float)loss : float.NaN;
    }

    // The trainable tensors (the running statistics do not enter a training step).
    private bool ParametersFinite() =>
        Finite.All(_p.Conv1Weight.Data) && Finite.All(_p.Conv1Bias.Data) && Finite.All(_p.Bn1Weight.Data) && Finite.All(_p.Bn1Bias.Data)
        && Finite.All(_p.Conv2Weight.Data) && Finite.All(_p.Conv2Bias.Data) && Finite.All(_p.Bn2Weight.Data) && Finite.All(_p.Bn2Bias.Data)
        && Finite.All(_p.FcWeight.Data) && Finite.All(_p.FcBias.Data);

    private void Run(Action<int, int> phase) => WorkerPool.Shared.RunDynamic(_active, _chunkCount, phase);

    private (int Start, int End) Chunk(int c) => (_count * c / _chunkCount, _count * (c + 1) / _chunkCount);

    private void EnsureCapacity(int n, int threads, int chunks)
    {
        if (n > _capacity)
        {
            _capacity = n;
            _x1 = new AlignedBuffer(n * _conv1.InputImage);
            _y1 = new AlignedBuffer(n * _conv1.OutputImage);
            _x2 = new AlignedBuffer(n * _conv2.InputImage);
            _y2 = new AlignedBuffer(n * _conv2.OutputImage);
            _feat = new AlignedBuffer(n * _features);
            _g2 = new AlignedBuffer(n * _c2 * _quarter * _quarter);
            _g1 = new AlignedBuffer(n * _conv2Dx.OutputImage);
            _logits = new double[n * _classes];
            _dlogits = new double[n * _classes];
        }
        if (threads > _threads.Length)
        {
            var grown = new ThreadState[threads];
            Array.Copy(_threads, grown, _threads.Length);
            for (int t = _threads.Length; t < threads; t++) grown[t] = new ThreadState(this);
            _threads = grown;
        }
        if (chunks > _chunks.Length)
        {
            var grown = new ChunkState[chunks];
            Array.Copy(_chunks, grown, _chunks.Length);
            for (int c = _chunks.Length; c < chunks; c++) grown[c] = new ChunkState(this);
            _chunks = grown;
        }
    }

    private void PrepareWeights()
    {
        _conv1.PackWeights(_p.Conv1Weight.Data, transposeAndFlip: false, _w1.Pointer);
        if (_wino2 is not null && _wino2Dx is not null)
        {
            _wino2.PackWeights(_p.Conv2Weight.Data, transposeAndFlip: false, _w2.Pointer);
            _wino2Dx.PackWeights(_p.Conv2Weight.Data, transposeAndFlip: true, _w2t.Pointer);
        }
        else
        {
            _conv2.PackWeights(_p.Conv2Weight.Data, transposeAndFlip: false, _w2.Pointer);
            _conv2Dx.PackWeights(_p.Conv2Weight.Data, transposeAndFlip: true, _w2t.Pointer);
        }
        _p.Conv1Bias.Data.CopyTo(_bias1.Span);
        _p.Conv2Bias.Data.CopyTo(_bias2.Span);
    }

    // Phase 1: pad each image into conv1's input, conv1 + bias, per-channel sums for BN1.
    private void Forward1(int chunk, int thread)
    {
        var ts = _threads[thread];
        var cs = _chunks[chunk];
        var (start, end) = Chunk(chunk);
        cs.ClearStatistics();
        int side = _size, pad = _conv1.Padding, wp = _conv1.PaddedWidth;
        for (int n = start; n < end; n++)
        {
            float* x = _x1.Pointer + (long)n * _conv1.InputImage;
            float* src = _images + (long)n * side * side;
            for (int r = 0; r < side; r++)
                new ReadOnlySpan<float>(src + r * side, side).CopyTo(new Span<float>(x + (r + pad) * wp + pad, side));
            ts.ClearImageSums();
            _conv1.ForwardImage(x, _w1.Pointer, _bias1.Pointer, _y1.Pointer + (long)n * _conv1.OutputImage, _conv1.OutputPlane, side * 16,
                ts.Sum.Pointer, ts.SumSq.Pointer, relu: false);
            ts.FoldImageSums(cs, _c1);
        }
    }

    // Phase 2: BN1 + ReLU + pool into conv2's padded input, conv2 + bias, sums for BN2.
    private void Forward2(int chunk, int thread)
    {
        var ts = _threads[thread];
        var cs = _chunks[chunk];
        var (start, end) = Chunk(chunk);
        cs.ClearStatistics();
        var c2 = _conv2;
        for (int n = start; n < end; n++)
        {
            float* x2 = _x2.Pointer + (long)n * c2.InputImage;
            BnReluPool.Forward(_path, _y1.Pointer + (long)n * _conv1.OutputImage, _c1 / 16, _size, _size, _bn1.Scale.Pointer, _bn1.Shift.Pointer,
                x2 + c2.Padding * c2.InputRow + c2.Padding * 16, c2.InputPlane, c2.InputRow);
            ts.ClearImageSums();
            float* y2 = _y2.Pointer + (long)n * c2.OutputImage;
            if (_wino2 is not null)
                _wino2.ForwardImage(x2, _w2.Pointer, _bias2.Pointer, y2, c2.OutputPlane, _half * 16, ts.Sum.Pointer, ts.SumSq.Pointer, relu: false, ts.Winograd.Pointer);
            else
                c2.ForwardImage(x2, _w2.Pointer, _bias2.Pointer, y2, c2.OutputPlane, _half * 16, ts.Sum.Pointer, ts.SumSq.Pointer, relu: false);
            ts.FoldImageSums(cs, _c2);
        }
    }

    // Phase 3: BN2 + ReLU + pool, flatten in PyTorch's (C, H, W) order, linear layer.
    private void Forward3(int chunk, int thread)
    {
        var ts = _threads[thread];
        var (start, end) = Chunk(chunk);
        int q = _quarter * _quarter;
        var w = _p.FcWeight.Storage;
        var b = _p.FcBias.Storage;
        for (int n = start; n < end; n++)
        {
            BnReluPool.Forward(_path, _y2.Pointer + (long)n * _conv2.OutputImage, _c2 / 16, _half, _half, _bn2.Scale.Pointer, _bn2.Shift.Pointer,
                ts.Pooled.Pointer, q * 16, _quarter * 16);
            float* f = _feat.Pointer + (long)n * _features;
            BlockedLayout.ToChannelMajor(ts.Pooled.Pointer, f, _c2, q);
            var feat = new ReadOnlySpan<float>(f, _features);
            for (int k = 0; k < _classes; k++)
                _logits[n * _classes + k] = (double)b[k] + TensorPrimitives.Dot(new ReadOnlySpan<float>(w, k * _features, _features), feat);
        }
    }

    private double LossAndLogitGradient(ReadOnlySpan<int> labels)
    {
        int n = _count, k = _classes;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var row = _logits.AsSpan(i * k, k);
            var drow = _dlogits.AsSpan(i * k, k);
            total += CrossEntropyKernels.RowLoss<double>(row, labels[i], drow);
            for (int j = 0; j < k; j++) drow[j] /= n;
            drow[labels[i]] -= 1.0 / n;
        }
        var fcBiasGrad = GradOf(_p.FcBias);
        for (int j = 0; j < k; j++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += _dlogits[i * k + j];
            fcBiasGrad[j] = (float)s;
        }
        return total / n;
    }

    // Backward phase 1: linear layer (input gradient, the chunk's weight gradient), BN2 pass A.
    private void Backward1(int chunk, int thread)
    {
        var ts = _threads[thread];
        var cs = _chunks[chunk];
        var (start, end) = Chunk(chunk);
        cs.ClearStatistics();
        cs.FcGrad.Clear();
        int q = _quarter * _quarter, f = _features;
        var w = _p.FcWeight.Storage;
        var dFeat = ts.FeatureGrad.Span;
        for (int n = start; n < end; n++)
        {
            var feat = new ReadOnlySpan<float>(_feat.Pointer + (long)n * f, f);
            dFeat.Clear();
            for (int k = 0; k < _classes; k++)
            {
                float d = (float)_dlogits[n * _classes + k];
                var wk = new ReadOnlySpan<float>(w, k * f, f);
                TensorPrimitives.MultiplyAdd(wk, d, dFeat, dFeat);
                var gk = cs.FcGrad.Span.Slice(k * f, f);
                TensorPrimitives.MultiplyAdd(feat, d, gk, gk);
            }
            float* g2 = _g2.Pointer + (long)n * _c2 * q;
            BlockedLayout.FromChannelMajor(ts.FeatureGrad.Pointer, g2, _c2, q);
            BnReluPool.BackwardStats(_path, _y2.Pointer + (long)n * _conv2.OutputImage, _c2 / 16, _half, _half, _bn2.Scale.Pointer, _bn2.Shift.Pointer,
                _bn2.Mean.Pointer, _bn2.InvStd.Pointer, g2, q * 16, _quarter * 16, cs.StatA, cs.StatB);
        }
    }

    // Backward phase 2: BN2 pass B into a padded per-thread gradient, conv2 weight gradient, conv2 input gradient, BN1 pass A.
    private void Backward2(int chunk, int thread)
    {
        var ts = _threads[thread];
        var cs = _chunks[chunk];
        var (start, end) = Chunk(chunk);
        cs.ClearStatistics();
        cs.ConvGrad2.Clear();
        int q = _quarter * _quarter;
        var dx = _conv2Dx;
        float* dyInterior = ts.Dy2.Pointer + dx.Padding * dx.InputRow + dx.Padding * 16;
        for (int n = start; n < end; n++)
        {
            float* y2 = _y2.Pointer + (long)n * _conv2.OutputImage;
            BnReluPool.BackwardInput(_path, y2, _c2 / 16, _half, _half, _bn2.Scale.Pointer, _bn2.Shift.Pointer, _g2.Pointer + (long)n * _c2 * q,
                q * 16, _quarter * 16, _bn2.CoefA.Pointer, _bn2.CoefB.Pointer, _bn2.CoefC.Pointer, dyInterior, dx.InputPlane, dx.InputRow, cs.StatC);
            float* x2 = _x2.Pointer + (long)n * _conv2.InputImage;
            _conv2.WeightGradImage(x2, dyInterior, dx.InputPlane, dx.InputRow, cs.ConvGrad2.Pointer);
            float* g1 = _g1.Pointer + (long)n * dx.OutputImage;
            if (_wino2Dx is not null)
                _wino2Dx.ForwardImage(ts.Dy2.Pointer, _w2t.Pointer, null, g1, dx.OutputPlane, _half * 16, null, null, relu: false, ts.Winograd.Pointer);
            else
                dx.ForwardImage(ts.Dy2.Pointer, _w2t.Pointer, null, g1, dx.OutputPlane, _half * 16, null, null, relu: false);
            BnReluPool.BackwardStats(_path, _y1.Pointer + (long)n * _conv1.OutputImage, _c1 / 16, _size, _size, _bn1.Scale.Pointer, _bn1.Shift.Pointer,
                _bn1.Mean.Pointer, _bn1.InvStd.Pointer, g1, dx.OutputPlane, _half * 16, cs.StatA, cs.StatB);
        }
    }

    // Backward phase 3: BN1 pass B into a per-thread gradient image, conv1 weight gradient (conv1's input needs none).
    private void Backward3(int chunk, int thread)
    {
        var ts = _threads[thread];
        var cs = _chunks[chunk];
        var (start, end) = Chunk(chunk);
        cs.ClearConv1Statistics();
        cs.ConvGrad1.Clear();
        var dx = _conv2Dx;
        for (int n = start; n < end; n++)
        {
            BnReluPool.BackwardInput(_path, _y1.Pointer + (long)n * _conv1.OutputImage, _c1 / 16, _size, _size, _bn1.Scale.Pointer, _bn1.Shift.Pointer,
                _g1.Pointer + (long)n * dx.OutputImage, dx.OutputPlane, _half * 16, _bn1.CoefA.Pointer, _bn1.CoefB.Pointer, _bn1.CoefC.Pointer,
                ts.Dy1.Pointer, _conv1.OutputPlane, _size * 16, cs.StatC1);
            _conv1.WeightGradImage(_x1.Pointer + (long)n * _conv1.InputImage, ts.Dy1.Pointer, _conv1.OutputPlane, _size * 16, cs.ConvGrad1.Pointer);
        }
    }

    // Batch mean/variance from the threads' sums (in thread order), BN affine map, running statistics as PyTorch.
    private void FinishStatistics(LayerState bn, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, Tensor batches, double count)
    {
        int c = bn.Channels;
        var g = gamma.Data;
        var b = beta.Data;
        var rm = runningMean.Data;
        var rv = runningVar.Data;
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0, q = 0;
            for (int k = 0; k < _chunkCount; k++)
            {
                s += _chunks[k].StatA[ch];
                q += _chunks[k].StatB[ch];
            }
            double mean = s / count;
            double var = Math.Max(0, q / count - mean * mean);
            double invStd = 1.0 / Math.Sqrt(var + _eps);
            if (!double.IsFinite(mean) || !double.IsFinite(var)) _nonFiniteStatistics = true;
            bn.Mean.Span[ch] = (float)mean;
            bn.InvStd.Span[ch] = (float)invStd;
            float scale = (float)(g[ch] * invStd);
            bn.Scale.Span[ch] = scale;
            bn.Shift.Span[ch] = (float)(b[ch] - mean * scale);
            BatchNormKernels.UpdateRunningStatistics(ref rm[ch], ref rv[ch], mean, var, count, _momentum);
        }
        batches.Data[0] += 1;
    }

    // BN parameter gradients and pass-B coefficients from the threads' pass-A sums.
    private void FinishBackward(LayerState bn, Tensor gamma, Tensor beta, double count)
    {
        int c = bn.Channels;
        var sumDz = bn.SumDz.AsSpan();
        var sumDzX = bn.SumDzXhat.AsSpan();
        sumDz.Clear();
        sumDzX.Clear();
        for (int k = 0; k < _chunkCount; k++)
            for (int ch = 0; ch < c; ch++)
            {
                sumDz[ch] += _chunks[k].StatA[ch];
                sumDzX[ch] += _chunks[k].StatB[ch];
            }
        var dGamma = GradOf(gamma);
        var dBeta = GradOf(beta);
        for (int ch = 0; ch < c; ch++)
        {
            dGamma[ch] = (float)sumDzX[ch];
            dBeta[ch] = (float)sumDz[ch];
        }
        BnReluPool.BackwardCoefficients(gamma.Data, bn.Mean.Span, bn.InvStd.Span, sumDz, sumDzX, count, bn.CoefA.Span, bn.CoefB.Span, bn.CoefC.Span);
    }

    private void ReduceFcGradient()
    {
        var grad = GradOf(_p.FcWeight);
        _chunks[0].FcGrad.Span.CopyTo(grad);
        for (int k = 1; k < _chunkCount; k++) TensorPrimitives.Add(grad, _chunks[k].FcGrad.Span, grad);
    }

    private void ReduceConvGradient(DirectConv2d plan, Tensor weight, Tensor bias, bool useConv2)
    {
        // Sum the chunks' accumulators into chunk 0's, in chunk order, then reorder once into PyTorch's layout.
        var first = useConv2 ? _chunks[0].ConvGrad2.Span : _chunks[0].ConvGrad1.Span;
        for (int k = 1; k < _chunkCount; k++) TensorPrimitives.Add(first, useConv2 ? _chunks[k].ConvGrad2.Span : _chunks[k].ConvGrad1.Span, first);
        Span<nint> accs = [(nint)(useConv2 ? _chunks[0].ConvGrad2.Pointer : _chunks[0].ConvGrad1.Pointer)];
        plan.UnpackWeightGrad(accs, GradOf(weight), accumulate: false);
        var db = GradOf(bias);
        for (int ch = 0; ch < db.Length; ch++)
        {
            double s = 0;
            for (int k = 0; k < _chunkCount; k++) s += useConv2 ? _chunks[k].StatC[ch] : _chunks[k].StatC1[ch];
            db[ch] = (float)s;
        }
    }

    private static Span<float> GradOf(Tensor parameter)
    {
        parameter.Grad ??= Tensor.Zeros(parameter.Shape);
        return parameter.Grad.Data;
    }

    /// <summary>Per-layer BN vectors (aligned, one float per channel) and batch sums.</summary>
    private sealed class LayerState(int channels)
    {
        public int Channels { get; } = channels;
        public AlignedBuffer Mean { get; } = new(channels);
        public AlignedBuffer InvStd { get; } = new(channels);
        public AlignedBuffer Scale { get; } = new(channels);
        public AlignedBuffer Shift { get; } = new(channels);
        public AlignedBuffer CoefA { get; } = new(channels);
        public AlignedBuffer CoefB { get; } = new(channels);
        public AlignedBuffer CoefC { get; } = new(channels);
        public double[] SumDz { get; } = new double[channels];
        public double[] SumDzXhat { get; } = new double[channels];
    }

    /// <summary>One chunk's accumulators: batch-norm sums, bias gradients, weight gradients (cleared by the phase that fills them).</summary>
    private sealed class ChunkState
    {
        private readonly AlignedBuffer _statsPinned;

        public ChunkState(ConvNetEngine e)
        {
            int c = Math.Max(e._c1, e._c2);
            // Four double vectors of c channels on the pinned heap: StatA, StatB (sums / sums of squares, or pass-A sums),
            // StatC (conv2 bias gradient), StatC1 (conv1 bias gradient).
            _statsPinned = new AlignedBuffer(2 * 4 * c);
            StatA = (double*)_statsPinned.Pointer;
            StatB = StatA + c;
            StatC = StatB + c;
            StatC1 = StatC + c;
            Channels = c;
            FcGrad = new AlignedBuffer(e._classes * e._features);
            ConvGrad2 = new AlignedBuffer(e._conv2.WeightLength);
            ConvGrad1 = new AlignedBuffer(e._conv1.WeightLength);
        }

        public int Channels { get; }
        public double* StatA { get; }
        public double* StatB { get; }
        public double* StatC { get; }
        public double* StatC1 { get; }
        public AlignedBuffer FcGrad { get; }
        public AlignedBuffer ConvGrad2 { get; }
        public AlignedBuffer ConvGrad1 { get; }

        public void ClearStatistics()
        {
            new Span<double>(StatA, Channels).Clear();
            new Span<double>(StatB, Channels).Clear();
            new Span<double>(StatC, Channels).Clear();
        }

        public void ClearConv1Statistics() => new Span<double>(StatC1, Channels).Clear();
    }

    /// <summary>One thread's per-image scratch (its contents never outlive one image).</summary>
    private sealed class ThreadState(ConvNetEngine e)
    {
        public AlignedBuffer Sum { get; } = new(Math.Max(e._c1, e._c2));
        public AlignedBuffer SumSq { get; } = new(Math.Max(e._c1, e._c2));
        public AlignedBuffer Pooled { get; } = new(e._c2 * e._quarter * e._quarter);
        public AlignedBuffer FeatureGrad { get; } = new(e._features);
        public AlignedBuffer Dy2 { get; } = new(e._conv2Dx.InputImage);
        public AlignedBuffer Dy1 { get; } = new(e._conv1.OutputImage);
        public AlignedBuffer Winograd { get; } = new(Math.Max(e._wino2?.ScratchLength ?? 0, e._wino2Dx?.ScratchLength ?? 0));

        public void ClearImageSums()
        {
            Sum.Clear();
            SumSq.Clear();
        }

        public void FoldImageSums(ChunkState chunk, int channels)
        {
            for (int c = 0; c < channels; c++)
            {
                chunk.StatA[c] += Sum.Pointer[c];
                chunk.StatB[c] += SumSq.Pointer[c];
            }
        }
    }
}
