using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Modules;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// The planned state of one <see cref="ConvChainStage"/> inside a <see cref="ConvChainOp"/>: kernels, packed weights,
/// the batch-norm affine map and backward coefficients, and the batch buffers backward reads.
/// </summary>
/// <remarks>
/// Batch buffers (blocked, one image after another): <see cref="X"/>, the padded conv input (training plans only; the
/// weight gradient reads it); <see cref="Y"/>, the conv output before batch norm (the stage's epilogue and its backward
/// recompute everything else from it; inference plans keep it per thread unless batch statistics need the whole batch);
/// <see cref="G"/>, the gradient of the stage's output (training plans only).
/// </remarks>
internal sealed unsafe class ConvChainLayer
{
    // Winograd (F(4x4, 3x3) or F(2x2, 5x5)) pays off only with enough output tiles to amortise the transforms.
    private const int MinWinogradTiles = 16;

    /// <summary>
    /// The fewest output tiles per image with which a stage of an inference plan runs as Winograd rather than direct
    /// (training plans keep <see cref="MinWinogradTiles"/>). 17: a 13x13..16x16 map's 4x4 tiles of F(4x4, 3x3) lost to
    /// the direct kernel in inference (ResNet-18's 14x14 256-channel stage, 2 threads AVX-512: 4.7 against 7.7 ms per
    /// image, docs/performance.md stop 13), while 28x28 (49 tiles) still gains. A process-wide switch for A/B benchmarks.
    /// </summary>
    internal static int MinInferenceWinogradTiles { get; set; } = 17;

    /// <summary>
    /// Whether a 3x3 stage of at most 64 x 64 channels (<see cref="SmallMapWinogradMaxWeights"/>) runs as Winograd
    /// F(4x4, 3x3) from 4 output tiles (an 8x8 or 7x7 map) in training and inference plans, below the tile thresholds above;
    /// its weight gradient stays direct below <see cref="MinWinogradTiles"/>. On by default; <c>bench plan-ab --switch
    /// smallwino</c> A/Bs it (docs/performance.md stop 14).
    /// </summary>
    internal static bool SmallMapWinograd { get; set; } = true;

    // C·K at most 64·64: the transform-domain weights (36·C·K floats, 576 KB) stay in the core's L2, which the GEMM of a
    // few tiles per image streams once per image (4 FMAs per weight vector at 4 tiles). 128 x 128 (2.3 MB) measured
    // slower than direct at 7x7 and 4x4 (bench stage-kernels).
    private const int SmallMapWinogradMaxWeights = 64 * 64;

    public ConvChainLayer(ConvChainStage stage, BatchNormBase? module, bool differentiable, bool firstWithInputGrad, int chunks, IsaLevel level)
    {
        Stage = stage;
        Module = module;
        var g = stage.Conv.Geometry;
        Geometry = g;
        Weight = stage.Conv.Weight;
        Bias = stage.Conv.Bias;
        // A strided (first) stage runs as a stride-1 conv over its input's phase image (StridedConv2d).
        Strided = g.StrideH > 1 ? new StridedConv2d(g.C, g.K, g.KH, g.PadTop, g.StrideH, g.H, g.W, level) : null;
        Plan = Strided?.Plan ?? new DirectConv2d(g.C, g.K, g.KH, g.PadTop, g.H, g.W, level);
        if (Strided is not null) Expanded = new float[Strided.ExpandedLength];
        Blocks = g.K / 16;
        OutH = g.OutH;
        OutW = g.OutW;
        PoolH = stage.Pool is null ? OutH : OutH / 2;
        PoolW = stage.Pool is null ? OutW : OutW / 2;
        Wino = WinogradConv2d.For(Plan);
        int tiles = Wino is null ? 0 : Wino.TileRows * Wino.TileColumns;
        if (Wino is not null && tiles < (differentiable ? MinWinogradTiles : MinInferenceWinogradTiles) && !SmallMapWinogradApplies(Wino, tiles)) Wino = null;
        Packed = new AlignedBuffer(Wino?.PackedLength ?? Plan.WeightLength);
        if (Bias is not null) Bias16 = new AlignedBuffer(g.K);
        Scale = new AlignedBuffer(g.K);
        Shift = new AlignedBuffer(g.K);
        Mean = new AlignedBuffer(g.K);
        InvStd = new AlignedBuffer(g.K);
        CoefA = new AlignedBuffer(g.K);
        CoefB = new AlignedBuffer(g.K);
        CoefC = new AlignedBuffer(g.K);
        Scale.Span.Fill(1f);
        CoefA.Span.Fill(1f);
        Ones = new float[g.K];
        Ones.AsSpan().Fill(1f);
        SumDz = new double[g.K];
        SumDzXhat = new double[g.K];
        if (differentiable || stage.Norm is { Training: true }) Y = new AlignedBuffer(g.N * Plan.OutputImage);
        Accumulators = [];
        AccumulatorPointers = [];
        if (!differentiable) return;
        X = new AlignedBuffer(g.N * Plan.InputImage);
        G = new AlignedBuffer(g.N * OutputImage);
        Accumulators = [.. Enumerable.Range(0, chunks).Select(_ => new AlignedBuffer(Plan.WeightLength))];
        AccumulatorPointers = [.. Accumulators.Select(a => (nint)a.Pointer)];
        // 3x3 only: F(2x2, 5x5)'s weight gradient measured slower than the direct one (the seed ConvNet's 16 -> 32 at
        // 14x14: 46 against 34 us per image, transforms and the 36-position accumulator outweigh 2.8x fewer multiplies).
        // Not below 16 tiles (small-map Winograd stages): the direct one is faster there (64 -> 64 at 8x8: 39.7 against
        // 68.1 us per image, bench stage-kernels).
        if (Wino is { KernelSize: 3 } && WinogradWeightGrad.Enabled && tiles >= MinWinogradTiles) WinoWeightGrad = new WinogradWeightGrad(Wino);
        DyPadding = Plan.KernelSize - 1 - Plan.Padding;
        DyRow = (OutW + 2 * DyPadding) * 16;
        DyPlane = (OutH + 2 * DyPadding) * DyRow;
        // The direct weight gradient of a small feature map runs over several images per call (DirectConv2d.WeightGradImages):
        // enough that the images give ~128 output pixels, at most 8 (each image's padded gradient stays in per-thread scratch).
        WeightGradGroup = WinoWeightGrad is null && GroupedWeightGrad ? Math.Clamp((128 + OutH * OutW - 1) / (OutH * OutW), 1, 8) : 1;
        if (g.C % 16 == 0 || firstWithInputGrad)
        {
            // The gradient of an input of fewer than 16 channels runs as a 16-channel one whose weights are zero beyond
            // channel C − 1 (strided stages have C % 16 == 0: their own input-gradient plan).
            DxPlan = Strided?.InputGradientPlan ?? new DirectConv2d(g.K, Math.Max(16, g.C), g.KH, DyPadding, OutH, OutW, level);
            if (g.C < 16) PaddedWeight = new float[g.K * 16 * g.KH * g.KW];
            else if (Wino is not null) WinoDx = WinogradConv2d.ForBackwardInput(Wino);
            PackedT = new AlignedBuffer(WinoDx?.PackedLength ?? DxPlan.WeightLength);
        }
    }

    private static bool SmallMapWinogradApplies(WinogradConv2d wino, int tiles) =>
        SmallMapWinograd && wino.KernelSize == 3 && tiles >= 4 && wino.InChannels * wino.OutChannels <= SmallMapWinogradMaxWeights;

    public ConvChainStage Stage { get; }
    public BatchNormBase? Module { get; }
    public Conv2dGeometry Geometry { get; }
    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    public DirectConv2d Plan { get; }

    /// <summary>The phase split of a strided stage (<see cref="Plan"/> is its stride-1 conv), or null.</summary>
    public StridedConv2d? Strided { get; }

    /// <summary>A strided stage's expanded weight, then its expanded weight gradient (<see cref="StridedConv2d"/>).</summary>
    public float[]? Expanded { get; }
    public WinogradConv2d? Wino { get; }
    public DirectConv2d? DxPlan { get; }
    public WinogradConv2d? WinoDx { get; }

    /// <summary>The weight gradient in the Winograd domain (training plans of Winograd stages), or null: the direct one.</summary>
    public WinogradWeightGrad? WinoWeightGrad { get; }
    public float[]? PaddedWeight { get; }
    public AlignedBuffer Packed { get; }
    public AlignedBuffer? PackedT { get; }
    public AlignedBuffer? Bias16 { get; }
    public AlignedBuffer Scale { get; }
    public AlignedBuffer Shift { get; }
    public AlignedBuffer Mean { get; }
    public AlignedBuffer InvStd { get; }
    public AlignedBuffer CoefA { get; }
    public AlignedBuffer CoefB { get; }
    public AlignedBuffer CoefC { get; }
    public float[] Ones { get; }
    public double[] SumDz { get; }
    public double[] SumDzXhat { get; }
    public AlignedBuffer? Y { get; }
    public AlignedBuffer? X { get; }
    public AlignedBuffer? G { get; }
    public AlignedBuffer[] Accumulators { get; }
    public nint[] AccumulatorPointers { get; }

    /// <summary>Output channel blocks (K/16).</summary>
    public int Blocks { get; }
    public int OutH { get; }
    public int OutW { get; }

    /// <summary>The stage's output size (after pooling, floor).</summary>
    public int PoolH { get; }
    public int PoolW { get; }

    /// <summary>Floats of one image of the stage's output (blocked).</summary>
    public int OutputImage => Geometry.K * PoolH * PoolW;

    /// <summary>The padded conv output gradient (the input-gradient plan's input layout): padding, row and plane strides.</summary>
    public int DyPadding { get; }
    public int DyRow { get; }
    public int DyPlane { get; }
    public int DyImage => Blocks * DyPlane;

    /// <summary>Images whose padded conv output gradients are kept together for one weight-gradient call (1 for Winograd's).</summary>
    public int WeightGradGroup { get; }

    /// <summary>False: one weight-gradient call per image (the A side of <c>bench plan-ab --switch dwgroup</c>).</summary>
    internal static bool GroupedWeightGrad { get; set; } = true;

    public bool TrainNorm => Stage.Norm is { Training: true };

    /// <summary>Backward needs the batch sums of dz and dz·xhat: training-mode batch norm, or affine parameters that learn.</summary>
    public bool NeedsPassA => Stage.Norm is { } n && (n.Training || n.Weight is { RequiresGrad: true } || n.Bias is { RequiresGrad: true });

    public string Name
    {
        get
        {
            var g = Geometry;
            string norm = Stage.Norm is null ? "" : Stage.Norm.Training ? "+BatchNorm" : "+BatchNorm(running stats)";
            return $"Conv2d {(Wino is null ? "direct" : "winograd")} {g.C}->{g.K} {g.KH}x{g.KW}{(Strided is null ? "" : $" stride {g.StrideH}")}{norm}{(Stage.Relu ? "+ReLU" : "")}{(Stage.Pool is null ? "" : "+MaxPool2x2")}";
        }
    }

    /// <summary>
    /// What <see cref="PackPart"/> reads besides the weight, made before the parts run: a strided stage's phase-split
    /// expansion (<see cref="Expanded"/>; each time, the weight-gradient reduction reuses the buffer), and for the input
    /// gradient of a stage of fewer than 16 input channels the weight padded to 16 (<see cref="PaddedWeight"/>).
    /// </summary>
    public void PrepareWeights(bool forward)
    {
        if (Strided is not null) Strided.ExpandWeights(Weight.Data, Expanded);
        if (forward || DxPlan is null || PaddedWeight is null) return;
        int taps = Geometry.KH * Geometry.KW, c = Geometry.C;
        var w = Weight.Data;
        for (int k = 0; k < Geometry.K; k++) w.Slice(k * c * taps, c * taps).CopyTo(PaddedWeight.AsSpan(k * 16 * taps, c * taps));
    }

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of packing the forward weights and the bias
    /// (<paramref name="forward"/>) or the input-gradient weights only (the backward pass, which never reads the forward's
    /// packed weights), after <see cref="PrepareWeights"/>: the packing is split by output channels (Winograd) or weight
    /// panels (direct) over the parts, the bias copied in part 0. The parts write disjoint data, so they may run on
    /// different threads at once; all of them together give one call's bits.
    /// </summary>
    public void PackPart(bool forward, int part, int parts)
    {
        ReadOnlySpan<float> weight = Strided is null ? Weight.Data : Expanded;
        if (forward)
        {
            if (Wino is not null) Wino.PackWeightsPart(weight, transposeAndFlip: false, Packed.Pointer, part, parts);
            else Plan.PackWeightsPart(weight, transposeAndFlip: false, Packed.Pointer, part, parts);
            if (part == 0) Bias?.Data.CopyTo(Bias16!.Span);
        }
        else if (WinoDx is not null) WinoDx.PackWeightsPart(weight, transposeAndFlip: true, PackedT!.Pointer, part, parts);
        else DxPlan?.PackWeightsPart(PaddedWeight ?? weight, transposeAndFlip: true, PackedT!.Pointer, part, parts);
    }

    /// <summary>The affine map of evaluation-mode batch norm (running statistics), as <see cref="BatchNormOp"/> computes it.</summary>
    public void SetRunningAffine()
    {
        var n = Stage.Norm!;
        ReadOnlySpan<float> rm = n.RunningMean!.Data, rv = n.RunningVar!.Data;
        ReadOnlySpan<float> gamma = n.Weight is null ? Ones : n.Weight.Data, beta = n.Bias is null ? default : n.Bias.Data;
        for (int c = 0; c < Geometry.K; c++)
        {
            float invStd = BatchNormKernels.InvStd(rv[c], n.Eps);
            Mean.Span[c] = rm[c];
            InvStd.Span[c] = invStd;
            float scale = gamma[c] * invStd;
            Scale.Span[c] = scale;
            Shift.Span[c] = (beta.IsEmpty ? 0f : beta[c]) - rm[c] * scale;
            CoefA.Span[c] = scale;
        }
    }

    // The chunk sums: per chunk, three runs of `stride` doubles (sum and sum of squares, or the pass-A sums; the conv
    // bias gradient).

    /// <summary>
    /// Training-mode batch norm: batch mean and variance from the per-chunk sums (in chunk order), the affine map, and the
    /// running-statistics update of <c>F.BatchNorm</c>/<see cref="BatchNormBase"/> (momentum, or the cumulative average
    /// when momentum is null; unbiased variance in running_var; num_batches_tracked).
    /// </summary>
    public void FinishStatistics(ReadOnlySpan<nint> chunkSums, int chunks, int stride)
    {
        var n = Stage.Norm!;
        bool update = Module is { TrackRunningStats: true };
        float steps = update ? Module!.NumBatchesTracked!.Data[0] + 1 : 0;
        float momentum = Module is null ? n.Momentum : Module.Momentum ?? (update ? 1f / steps : 0f);
        double count = (double)Geometry.N * OutH * OutW;
        ReadOnlySpan<float> gamma = n.Weight is null ? Ones : n.Weight.Data, beta = n.Bias is null ? default : n.Bias.Data;
        int k = Geometry.K;
        for (int c = 0; c < k; c++)
        {
            double s = 0, q = 0;
            for (int i = 0; i < chunks; i++)
            {
                s += ((double*)chunkSums[i])[c];
                q += ((double*)chunkSums[i])[stride + c];
            }
            double mean = s / count, variance = Math.Max(0, q / count - mean * mean), invStd = BatchNormKernels.InvStdDouble(variance, n.Eps);
            Mean.Span[c] = (float)mean;
            InvStd.Span[c] = (float)invStd;
            float scale = (float)(gamma[c] * invStd);
            Scale.Span[c] = scale;
            Shift.Span[c] = (float)((beta.IsEmpty ? 0.0 : beta[c]) - mean * scale);
            float runMean = n.RunningMean?.Data[c] ?? 0f, runVar = n.RunningVar?.Data[c] ?? 0f;
            BatchNormKernels.UpdateRunningStatistics(ref runMean, ref runVar, mean, variance, count, momentum);
            if (n.RunningMean is { } rm) rm.Data[c] = runMean;
            if (n.RunningVar is { } rv) rv.Data[c] = runVar;
        }
        if (update) Module!.NumBatchesTracked!.Data[0] = steps;
    }

    /// <summary>
    /// Batch-norm parameter gradients (added into <c>Grad</c>) and pass B's coefficients from the per-chunk pass-A sums;
    /// evaluation-mode batch norm keeps dx = scale·dz.
    /// </summary>
    public void FinishBackward(ReadOnlySpan<nint> chunkSums, int chunks, int stride)
    {
        var n = Stage.Norm!;
        int k = Geometry.K;
        SumDz.AsSpan().Clear();
        SumDzXhat.AsSpan().Clear();
        for (int i = 0; i < chunks; i++)
            for (int c = 0; c < k; c++)
            {
                SumDz[c] += ((double*)chunkSums[i])[c];
                SumDzXhat[c] += ((double*)chunkSums[i])[stride + c];
            }
        if (n.Weight is { RequiresGrad: true } w)
        {
            var gw = w.Grad!.Data;
            for (int c = 0; c < k; c++) gw[c] += (float)SumDzXhat[c];
        }
        if (n.Bias is { RequiresGrad: true } b)
        {
            var gb = b.Grad!.Data;
            for (int c = 0; c < k; c++) gb[c] += (float)SumDz[c];
        }
        if (n.Training)
            BnReluPool.BackwardCoefficients(n.Weight is null ? Ones : n.Weight.Data, Mean.Span, InvStd.Span, SumDz, SumDzXhat,
                (double)Geometry.N * OutH * OutW, CoefA.Span, CoefB.Span, CoefC.Span);
    }

    /// <summary>Rows ([kh][kw][C] positions) of the weight-gradient accumulators, the unit <see cref="ReduceWeightGradRows"/> splits.</summary>
    public int WeightGradRows => Plan.KernelSize * Plan.KernelSize * Plan.InChannels;

    /// <summary>
    /// Sums rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of the chunks' weight-gradient accumulators (in chunk
    /// order) into the weight's <c>Grad</c> (a strided stage: into <see cref="Expanded"/>, gathered by
    /// <see cref="ReduceConvGradient"/>). Disjoint row ranges may run on different threads: every element gets the same sum.
    /// </summary>
    public void ReduceWeightGradRows(int chunks, int rowStart, int rowEnd)
    {
        if (!Weight.RequiresGrad) return;
        if (Strided is not null) Plan.UnpackWeightGradRows(AccumulatorPointers.AsSpan(0, chunks), Expanded, accumulate: false, rowStart, rowEnd);
        else Plan.UnpackWeightGradRows(AccumulatorPointers.AsSpan(0, chunks), Weight.Grad!.Data, accumulate: true, rowStart, rowEnd);
    }

    /// <summary>
    /// Adds the chunks' weight gradients (in chunk order; when <paramref name="rowsDone"/>, already summed by
    /// <see cref="ReduceWeightGradRows"/>) and bias gradient sums into the parameters' <c>Grad</c>.
    /// </summary>
    public void ReduceConvGradient(ReadOnlySpan<nint> chunkSums, int chunks, int stride, bool rowsDone = false)
    {
        if (!rowsDone) ReduceWeightGradRows(chunks, 0, WeightGradRows);
        if (Weight.RequiresGrad && Strided is not null) Strided.GatherWeightGrad(Expanded, Weight.Grad!.Data, accumulate: true);
        if (Bias is not { RequiresGrad: true }) return;
        var db = Bias.Grad!.Data;
        int k = Geometry.K;
        for (int c = 0; c < k; c++)
        {
            double s = 0;
            for (int i = 0; i < chunks; i++) s += ((double*)chunkSums[i])[2 * stride + c];
            db[c] += (float)s;
        }
    }
}
