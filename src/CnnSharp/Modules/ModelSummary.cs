using CnnSharp.Autograd;

namespace CnnSharp.Modules;

/// <summary>
/// A per-layer description of a model for one input shape, like <c>torchinfo.summary</c>: every module call with its
/// output shape, parameter count and multiply-accumulates, and totals.
/// </summary>
/// <remarks>
/// <para>Computed by one forward pass on a zero input in evaluation mode under <see cref="GradMode.NoGrad"/> (the model's
/// train/eval mode is restored afterwards), observing every <see cref="Module.Call(Tensor)"/>. A row is a call, in call
/// order, so a module called twice has two rows; modules that a parent runs with <c>Forward</c> directly, and functional
/// operations (<c>F.Relu</c>, additions), have no row of their own (their cost is not counted).</para>
/// <para>Mult-adds are the multiply-accumulates of the convolutions and linear layers, the usual "MACs" (torchinfo's
/// "Mult-Adds" up to the small terms below): a <see cref="Conv1d"/> or <see cref="Conv2d"/> costs its weight's element
/// count times N times the output's spatial positions (a 3x3 conv 64 -> 64 on a 56x56 output: 36,864 x 3,136 per
/// image); a <see cref="ConvTranspose2d"/> its weight's element count times N times the *input's* spatial positions
/// (each input pixel scatters one kernel); a <see cref="Linear"/> its weight's element count times the number of
/// output rows (N for a 2-D input). Bias additions, normalisation, pooling and activations count 0. (torchinfo 1.8 also
/// adds the element count of biases and batch-norm parameters times N: 10,600 more for ResNet-18's 1,814,073,344.)</para>
        /// <para>Activation memory is 4 bytes (float32) times the output elements of every leaf call: what one forward pass
/// produces, and about what training keeps for the backward pass.</para>
/// </remarks>
public sealed class ModelSummary
{
    private ModelSummary(IReadOnlyList<int> inputShape, IReadOnlyList<LayerSummary> layers, long total, long trainable, long activationElements)
    {
        InputShape = inputShape;
        Layers = layers;
        TotalParameters = total;
        TrainableParameters = trainable;
        TotalMultAdds = layers.Count == 0 ? 0 : layers[0].MultAdds;
        ActivationBytes = 4 * activationElements;
    }

    /// <summary>The input shape the summary was computed for, batch dimension included.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>One row per observed module call, in call order; the first is the model itself (depth 0).</summary>
    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>Elements of all parameters of the model (each tensor counted once; buffers excluded, as in torchinfo).</summary>
    public long TotalParameters { get; }

    /// <summary>Elements of the parameters whose <see cref="Tensor.RequiresGrad"/> is set.</summary>
    public long TrainableParameters { get; }

    /// <summary>Multiply-accumulates of the whole forward pass for the whole batch (definition in the remarks).</summary>
    public long TotalMultAdds { get; }

    /// <summary>Estimated activation memory in bytes (definition in the remarks).</summary>
    public long ActivationBytes { get; }

    /// <summary>Bytes of the input tensor (float32).</summary>
    public long InputBytes => 4 * InputShape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Bytes of the parameters (float32).</summary>
    public long ParameterBytes => 4 * TotalParameters;

    /// <summary>Runs <paramref name="model"/> once on zeros of <paramref name="inputShape"/> and describes every module call.</summary>
    /// <param name="model">The model; its parameters are not changed, its train/eval mode is restored.</param>
    /// <param name="inputShape">The input shape including the batch dimension, e.g. <c>1, 3, 224, 224</c>.</param>
    /// <returns>The summary.</returns>
    /// <exception cref="ArgumentException">The shape is empty, has a non-positive dimension, or holds more than
    /// <see cref="int.MaxValue"/> elements.</exception>
    /// <remarks>Errors of the model itself on that input (a shape it does not take) propagate unchanged.</remarks>
    public static ModelSummary Of(Module model, params int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0) throw new ArgumentException("ModelSummary: the input shape is empty", nameof(inputShape));
        long elements = 1;
        foreach (int d in inputShape)
        {
            if (d <= 0) throw new ArgumentException($"ModelSummary: input shape {Shape.Format(inputShape)} has a non-positive dimension", nameof(inputShape));
            elements *= d;
            if (elements > int.MaxValue)
                throw new ArgumentException($"ModelSummary: input shape {Shape.Format(inputShape)} has more than {int.MaxValue} elements", nameof(inputShape));
        }

        var recorder = new Recorder(model);
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var noGrad = GradMode.NoGrad();
            using var observe = ForwardObserver.Install(recorder);
            model.Call(Tensor.Zeros(inputShape));
        }
        finally
        {
            model.Train(wasTraining);
        }

        var parameters = model.Parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList();
        return new ModelSummary([.. inputShape], recorder.Rows(),
            parameters.Sum(p => (long)p.Numel), parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel), recorder.LeafOutputElements);
    }

    /// <summary>Collects rows: pre-order on entry (call order), output and cost on exit.</summary>
    private sealed class Recorder(Module model) : ForwardObserver
    {
        private readonly Dictionary<Module, string> _names = BuildNames(model);
        private readonly List<Row> _rows = [];
        private readonly Stack<Row> _open = new();

        public long LeafOutputElements { get; private set; }

        private static Dictionary<Module, string> BuildNames(Module model)
        {
            var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
            // A module registered under two paths keeps its first (PyTorch's named_modules also reports it once).
            foreach (var (name, module) in model.NamedModules()) names.TryAdd(module, name);
            return names;
        }

        public override void Enter(Module module, ReadOnlySpan<Tensor> inputs)
        {
            if (_open.TryPeek(out var parent)) parent.IsLeaf = false;
            var row = new Row(module, _open.Count) { InputShape = inputs.Length > 0 ? inputs[0].Shape : null };
            _rows.Add(row);
            _open.Push(row);
        }

        public override void Exit(Module module, Tensor output)
        {
            var row = _open.Pop();
            row.OutputShape = output.Shape.ToArray();
            row.MultAdds += OwnMultAdds(module, row.InputShape, output.Shape);
            if (_open.TryPeek(out var parent)) parent.MultAdds += row.MultAdds;
            if (row.IsLeaf) LeafOutputElements += output.Numel;
        }

        private static long OwnMultAdds(Module module, Shape? input, Shape output) => module switch
        {
            Conv1d conv => (long)conv.Weight.Numel * output[0] * SpatialPositions(output),
            Conv2d conv => (long)conv.Weight.Numel * output[0] * SpatialPositions(output),
            ConvTranspose2d conv when input is not null => (long)conv.Weight.Numel * input[0] * SpatialPositions(input),
            Linear linear => (long)linear.Weight.Numel * (output.Numel / output[-1]),
            _ => 0,
        };

        private static long SpatialPositions(Shape shape)
        {
            long positions = 1;
            for (int i = 2; i < shape.Rank; i++) positions *= shape[i];
            return positions;
        }

        public IReadOnlyList<LayerSummary> Rows() =>
        [
            .. _rows.Select(r => new LayerSummary(
                _names.TryGetValue(r.Module, out var name) ? name : "", r.Module.GetType().Name, r.Depth, r.OutputShape,
                r.Module.Parameters().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().Sum(p => (long)p.Numel), r.MultAdds, r.IsLeaf)),
        ];

        private sealed class Row(Module module, int depth)
        {
            public Module Module { get; } = module;
            public int Depth { get; } = depth;
            public Shape? InputShape { get; init; }
            public int[] OutputShape { get; set; } = [];
            public long MultAdds { get; set; }
            public bool IsLeaf { get; set; } = true;
        }
    }
}
