using System.Runtime.CompilerServices;
using System.Buffers;
using System.Numerics.Tensors;

namespace CnnSharp.Kernels;

/// <summary>
/// 2-D convolution (PyTorch's <c>conv2d</c>, a cross-correlation) forward and backward over NCHW spans, in the general
/// case: any stride, dilation, groups and per-side zero padding.
/// </summary>
/// <remarks>
/// <para>Layouts: input x (N, C, H, W); weight w (K, C/G, KH, KW); bias b (K) or empty; output y (N, K, OutH, OutW).
/// With Cg = C/G, Kg = K/G, group g = k / Kg:</para>
/// <para><c>y[n,k,oh,ow] = b[k] + Σ_{c&lt;Cg, i&lt;KH, j&lt;KW} x[n, g·Cg + c, oh·sH − pT + i·dH, ow·sW − pL + j·dW] · w[k,c,i,j]</c>
/// (out-of-range input positions are zero padding).</para>
/// <para>Method: the forward pass is <see cref="ConvGemm"/>'s implicit GEMM <c>y_g = W_g·col</c> (the column matrix is
/// packed block by block straight from the image). For the backward passes, per image and group, <see cref="Im2Col"/>
/// lowers the input to a (Cg·KH·KW)×(OutH·OutW) matrix and the packed <see cref="Gemm"/> does the arithmetic:
/// backward-data <c>dcol = W_gᵀ·dy_g</c> followed by col2im; backward-weight <c>dW_g += dy_g·colᵀ</c>. A 1×1, stride-1,
/// unpadded convolution skips the lowering (the image already is its column matrix). The column buffer is one image's,
/// per thread, reused.</para>
/// <para>Threads: the batch is split into contiguous chunks, one per thread (<see cref="Parallelism"/>); each image's
/// output and input-gradient slices are disjoint, so forward and backward-data are race-free and independent of the thread
/// count. Backward-weight gives each of a fixed number of image chunks a private gradient, summed in chunk order at the
/// end (the same bits for any thread count). With a single image the GEMMs themselves run in parallel instead.</para>
/// <para>Depthwise and narrow grouped convolutions (<see cref="GroupedConv2d.Prefers"/>, and
/// <see cref="GroupedConv2d.PrefersBackwardInput"/> for backward-data) run on the direct <see cref="GroupedConv2d"/>
/// kernels instead, forward and backward, with the same threading guarantees.</para>
/// <para>Backward kernels accumulate (<c>+=</c>) into their gradient spans.</para>
/// </remarks>
internal static unsafe class Conv2dKernels
{
    /// <summary>Forward: <c>y = conv2d(x, w) + b</c> (see the class remarks for the formula).</summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="weight">w, shape (K, C/G, KH, KW).</param>
    /// <param name="bias">b, shape (K), or empty for no bias.</param>
    /// <param name="output">y, shape (N, K, OutH, OutW); fully overwritten.</param>
    /// <param name="g">The validated geometry.</param>
    /// <remarks>
    /// Runs the implicit GEMM of <see cref="ConvGemm"/> (no column matrix), packing the weights on every call into this
    /// thread's reusable buffer, since a training step changes them; callers that run fixed weights many times (the ONNX
    /// runtime) pack them once and call <see cref="ConvGemm.Forward(ReadOnlySpan{float}, PackedConvWeights, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry, bool)"/>.
    /// </remarks>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output, in Conv2dGeometry g)
    {
        CheckLength(input.Length, (long)g.N * g.C * g.H * g.W, nameof(input));
        CheckLength(weight.Length, WeightSize(g), nameof(weight));
        if (!bias.IsEmpty) CheckLength(bias.Length, g.K, nameof(bias));
        CheckLength(output.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(output));
        if (g.N == 0) return;
        if (GroupedConv2d.Prefers(g))
        {
            GroupedConv2d.Forward(input, weight, bias, default, output, g, float.NegativeInfinity, float.PositiveInfinity);
            return;
        }
        var packed = t_packedWeights ??= new PackedConvWeights();
        packed.Pack(weight, g.K, g.CPerGroup, g.KH, g.KW, g.Groups, Isa.Level);
        ConvGemm.Forward(input, packed, bias, output, g, relu: false);
    }

    // The forward pass's packed weights, per thread (a nested forward on a worker thread packs into its own).
    [ThreadStatic] private static PackedConvWeights? t_packedWeights;

    /// <summary>Backward-data: <c>dx[n,c,ih,iw] += Σ dy[n,k,oh,ow]·w[k,c,i,j]</c> over every (k, oh, ow, i, j) that read (ih, iw).</summary>
    /// <param name="gradOutput">dy, shape (N, K, OutH, OutW).</param>
    /// <param name="weight">w, shape (K, C/G, KH, KW).</param>
    /// <param name="gradInput">dx, shape (N, C, H, W); accumulated into.</param>
    /// <param name="g">The validated geometry.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardInput(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, in Conv2dGeometry g)
    {
        CheckLength(gradOutput.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(gradOutput));
        CheckLength(weight.Length, WeightSize(g), nameof(weight));
        CheckLength(gradInput.Length, (long)g.N * g.C * g.H * g.W, nameof(gradInput));
        if (g.N == 0) return;
        if (GroupedConv2d.PrefersBackwardInput(g))
        {
            GroupedConv2d.BackwardInput(gradOutput, weight, gradInput, g);
            return;
        }
        fixed (float* pdy = gradOutput, pw = weight, pdx = gradInput)
        {
            var job = BackwardJob.Current;
            job.G = g;
            job.Dy = pdy;
            job.W = pw;
            job.Dx = pdx;
            job.GemmParallel = Math.Min(Parallelism.MaxThreads, g.N) == 1;
            Parallelism.For(g.N, job.InputImages);
        }
    }

    /// <summary>
    /// One backward call's operands for the per-chunk bodies (pointers pinned by the caller for the call), one per thread
    /// and reused, with the bodies as delegates made once: a backward call allocates nothing.
    /// </summary>
    private sealed class BackwardJob
    {
        [ThreadStatic] private static BackwardJob? t_current;
        public Conv2dGeometry G;
        public float* Dy, W, Dx, X, Partials;
        public bool GemmParallel;
        public int Chunks, WeightSize;

        private BackwardJob()
        {
            InputImages = (n0, n1) =>
            {
                for (int n = n0; n < n1; n++) BackwardInputImage(n, Dy, W, Dx, G, GemmParallel);
            };
            WeightChunks = (c0, c1) =>
            {
                for (int chunk = c0; chunk < c1; chunk++)
                {
                    float* dw = Partials + (nint)chunk * WeightSize;
                    new Span<float>(dw, WeightSize).Clear();
                    int n0 = (int)((long)G.N * chunk / Chunks), n1 = (int)((long)G.N * (chunk + 1) / Chunks);
                    for (int n = n0; n < n1; n++) BackwardWeightImage(n, X, Dy, dw, G, gemmParallel: false);
                }
            };
        }

        /// <summary>This thread's job (a backward call never re-enters another on its own thread).</summary>
        public static BackwardJob Current => t_current ??= new BackwardJob();

        /// <summary>Backward-data over images [n0, n1).</summary>
        public Action<int, int> InputImages { get; }

        /// <summary>Backward-weight over image chunks [c0, c1), each into its own partial gradient.</summary>
        public Action<int, int> WeightChunks { get; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardInputImage(int n, float* dy, float* w, float* dx, in Conv2dGeometry g, bool gemmParallel)
    {
        int cg = g.CPerGroup, kg = g.KPerGroup, p = g.OutH * g.OutW, taps = cg * g.KH * g.KW;
        for (int gi = 0; gi < g.Groups; gi++)
        {
            var dyG = new ReadOnlySpan<float>(dy + ((nint)n * g.K + gi * kg) * p, kg * p);
            var wG = new ReadOnlySpan<float>(w + (nint)gi * kg * taps, kg * taps);
            var dxG = new Span<float>(dx + ((nint)n * g.C + gi * cg) * g.H * g.W, cg * g.H * g.W);
            if (IsPointwise(g))
            {
                // dx_g (Cg x HW) += W_g^T (Cg x Kg) . dy_g (Kg x HW): the column matrix is the image itself.
                Gemm.Multiply(true, false, cg, p, kg, wG, taps, dyG, p, dxG, p, accumulate: true, parallel: gemmParallel);
            }
            else
            {
                var dcol = Scratch.GetSpan(Scratch.Slot.ColumnGradient, taps * p);
                Gemm.Multiply(true, false, taps, p, kg, wG, taps, dyG, p, dcol, p, accumulate: false, parallel: gemmParallel);
                Im2Col.BackwardAccumulate(dcol, dxG, g);
            }
        }
    }

    /// <summary>Backward-weight: <c>dw[k,c,i,j] += Σ_{n,oh,ow} dy[n,k,oh,ow]·x[n, g·Cg + c, oh·sH − pT + i·dH, ow·sW − pL + j·dW]</c>.</summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="gradOutput">dy, shape (N, K, OutH, OutW).</param>
    /// <param name="gradWeight">dw, shape (K, C/G, KH, KW); accumulated into.</param>
    /// <param name="g">The validated geometry.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardWeight(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, in Conv2dGeometry g)
    {
        CheckLength(input.Length, (long)g.N * g.C * g.H * g.W, nameof(input));
        CheckLength(gradOutput.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(gradOutput));
        int wSize = (int)WeightSize(g);
        CheckLength(gradWeight.Length, wSize, nameof(gradWeight));
        if (g.N == 0) return;
        if (GroupedConv2d.Prefers(g))
        {
            GroupedConv2d.BackwardWeight(input, gradOutput, gradWeight, g);
            return;
        }
        // A fixed number of image chunks, whatever the thread count, so the summation order (and so every bit of the
        // result) is the same on any machine; the chunks are then spread over the threads.
        int chunks = Math.Min(WeightGradChunks, g.N);
        fixed (float* px = input, pdy = gradOutput, pdw = gradWeight)
        {
            if (chunks == 1)
            {
                for (int n = 0; n < g.N; n++) BackwardWeightImage(n, px, pdy, pdw, g, gemmParallel: true);
                return;
            }
            // One private gradient per chunk of images, so threads never write the same memory; summed in chunk order.
            float[] partials = ArrayPool<float>.Shared.Rent(chunks * wSize);
            try
            {
                fixed (float* pp = partials)
                {
                    var job = BackwardJob.Current;
                    job.G = g;
                    job.X = px;
                    job.Dy = pdy;
                    job.Partials = pp;
                    (job.Chunks, job.WeightSize) = (chunks, wSize);
                    Parallelism.For(chunks, job.WeightChunks);
                }
                for (int chunk = 0; chunk < chunks; chunk++)
                    TensorPrimitives.Add(gradWeight, partials.AsSpan(chunk * wSize, wSize), gradWeight);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(partials);
            }
        }
    }

    // Image chunks of the weight gradient (see BackwardWeight): enough to balance up to 8 threads.
    private const int WeightGradChunks = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardWeightImage(int n, float* x, float* dy, float* dw, in Conv2dGeometry g, bool gemmParallel)
    {
        int cg = g.CPerGroup, kg = g.KPerGroup, p = g.OutH * g.OutW, taps = cg * g.KH * g.KW;
        for (int gi = 0; gi < g.Groups; gi++)
        {
            var image = new ReadOnlySpan<float>(x + ((nint)n * g.C + gi * cg) * g.H * g.W, cg * g.H * g.W);
            var dyG = new ReadOnlySpan<float>(dy + ((nint)n * g.K + gi * kg) * p, kg * p);
            var dwG = new Span<float>(dw + (nint)gi * kg * taps, kg * taps);
            ReadOnlySpan<float> cols = IsPointwise(g) ? image : Lower(image, g);
            // dW_g (Kg x taps) += dy_g (Kg x P) . col^T, col stored taps x P.
            Gemm.Multiply(false, true, kg, taps, p, dyG, p, cols, p, dwG, taps, accumulate: true, parallel: gemmParallel);
        }
    }

    /// <summary>Backward-bias: <c>db[k] += Σ_{n,oh,ow} dy[n,k,oh,ow]</c> (per-row float sums, accumulated across the batch in double).</summary>
    /// <param name="gradOutput">dy, shape (N, K, OutH, OutW).</param>
    /// <param name="gradBias">db, shape (K); accumulated into.</param>
    /// <param name="g">The validated geometry.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardBias(ReadOnlySpan<float> gradOutput, Span<float> gradBias, in Conv2dGeometry g)
    {
        CheckLength(gradOutput.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(gradOutput));
        CheckLength(gradBias.Length, g.K, nameof(gradBias));
        int p = g.OutH * g.OutW;
        for (int k = 0; k < g.K; k++)
        {
            double s = 0;
            for (int n = 0; n < g.N; n++) s += TensorPrimitives.Sum(gradOutput.Slice((n * g.K + k) * p, p));
            gradBias[k] += (float)s;
        }
    }

    /// <summary>A 1×1, stride-1, unpadded convolution, whose column matrix is the input image itself.</summary>
    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && (g.PadTop | g.PadLeft | g.PadBottom | g.PadRight) == 0;

    /// <summary>im2col of one image's group into this thread's column buffer.</summary>
    private static Span<float> Lower(ReadOnlySpan<float> image, in Conv2dGeometry g)
    {
        var col = Scratch.GetSpan(Scratch.Slot.Columns, g.CPerGroup * g.KH * g.KW * g.OutH * g.OutW);
        Im2Col.Forward(image, col, g);
        return col;
    }

    private static long WeightSize(in Conv2dGeometry g) => (long)g.K * g.CPerGroup * g.KH * g.KW;

    private static void CheckLength(int actual, long expected, string name)
    {
        // The kernels work through raw pointers, so a size mismatch must never get past this point.
        if (actual != expected) throw new ArgumentException($"Conv2dKernels: {name} has {actual} values, the geometry needs {expected}", name);
    }
}
