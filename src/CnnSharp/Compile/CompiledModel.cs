using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Modules;

namespace CnnSharp.Compile;

/// <summary>
/// A module compiled into planned, fused execution (PyTorch's <c>torch.compile(model)</c>): same results as the module
/// within float rounding, same parameters and buffers, far fewer passes over memory and no allocation per training step.
/// </summary>
/// <remarks>
/// <para>Capture: the module's forward is traced once per (input shape, train/eval mode, differentiable or not) on a
/// random input, recording every op through the autograd hooks; batch-norm running statistics are restored after the
/// trace. Plans are cached; a new batch size or a mode switch traces again, like a recompilation after a guard fails.</para>
/// <para>Graph breaks: an op without a compiled form but with an eager replay (LeakyReLU, Dropout, Softmax, broadcasting
/// arithmetic, reductions, ...) runs as an eager island inside the plan, the ops around it compiled
/// (<see cref="GraphBreaks"/>). An op with neither (a loss computed inside the forward) makes the whole model run eagerly
/// through the module, the reason in <see cref="FallbackReason"/>: compilation never fails a model that runs eagerly.
/// 1-D CNNs (Conv1d, BatchNorm1d, the 1-D poolings) compile like 2-D ones.</para>
/// <para>Aliasing: the plan reuses its buffers on every call. A tensor returned by <see cref="Forward"/> is a copy; its
/// backward must run before the next <see cref="Forward"/> or <see cref="TrainStep(Tensor, int[])"/> (otherwise an
/// <see cref="InvalidOperationException"/> says so). For the same reason a compiled model is not safe for concurrent
/// calls from several threads (each call already uses every core); compile one per thread if you need that.</para>
/// </remarks>
public sealed class CompiledModel
{
    private readonly Dictionary<(Shape, bool Training, bool Differentiable, bool InputGrad), (ExecutionPlan? Plan, string? Failure, Exception? ForwardError)> _plans = [];
    private long _generation;

    internal CompiledModel(Module module) => Module = module;

    /// <summary>The compiled module (its parameters, buffers and train/eval mode are the compiled model's).</summary>
    public Module Module { get; }

    /// <summary>Why the most recently used plan runs eagerly, or null when it is compiled.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>The ops of the most recently used plan that run eagerly inside it (graph breaks), by autograd node name.</summary>
    public IReadOnlyList<string> GraphBreaks { get; private set; } = [];

    /// <summary>Plans <paramref name="inputShape"/> now for the module's current mode (inference and training plans).</summary>
    /// <returns>This model.</returns>
    /// <exception cref="ShapeException">The module's forward pass cannot take <paramref name="inputShape"/> (wrong rank,
    /// channels or spatial size); the message names the shape and the layer's own error.</exception>
    /// <exception cref="InvalidOperationException">The module's forward pass refused the shape for another reason.</exception>
    public CompiledModel Prepare(params int[] inputShape)
    {
        var shape = new Shape(inputShape);
        Resolve(shape, Module.Training, differentiable: Module.Training, inputGrad: false);
        // An op without a compiled form falls back to eager silently (that still runs), but a shape the model itself cannot
        // take would only fail on the first Forward: the caller asked for this shape now, so it hears now.
        if (_plans[(shape, Module.Training, Module.Training, false)].ForwardError is { } error)
        {
            string message = $"Compile: the model cannot take input shape {shape}: {error.Message}";
            throw error is ArgumentException ? new ShapeException(message, error) : new InvalidOperationException(message, error);
        }
        return this;
    }

    /// <summary>Runs the module's forward: <c>Module.Forward(input)</c>, computed by the plan for <paramref name="input"/>'s shape.</summary>
    /// <param name="input">The model input, shape as the module expects (e.g. (N, C, H, W)).</param>
    /// <returns>A new tensor; when gradients are enabled it carries a backward node into the plan.</returns>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool differentiable = GradMode.IsEnabled && (input.RequiresGrad || Module.Parameters().Any(p => p.RequiresGrad));
        var plan = Resolve(input.Shape, Module.Training, differentiable, differentiable && input.RequiresGrad);
        if (plan is null) return Module.Forward(input);
        long generation = ++_generation;
        plan.Forward(input.Storage);
        var output = new Tensor((float[])plan.Data[plan.Output].Clone(), plan.Shapes[plan.Output]);
        if (differentiable) output.SetGradFn(new CompiledBackward(this, plan, generation, input, [input, .. plan.Parameters]));
        return output;
    }

    /// <summary>
    /// One training step's forward and backward with a cross-entropy loss: zeroes the gradients of the parameters the plan
    /// uses, computes <c>loss = CrossEntropy(Module.Forward(input), targets)</c> (mean over the batch) and writes its
    /// gradient into every parameter's <c>Grad</c>. The caller then runs its optimiser's <c>Step()</c>.
    /// </summary>
    /// <param name="input">The batch, shape as the module expects.</param>
    /// <param name="targets">One class index per sample, in [0, classes).</param>
    /// <returns>The mean loss; NaN or infinity when the model diverged (always NaN when a parameter is NaN or infinite).</returns>
    /// <exception cref="ArgumentException">The targets do not match the output (count or class range).</exception>
    public float TrainStep(Tensor input, int[] targets) => TrainStep(input, targets, out _);

    /// <summary>As <see cref="TrainStep(Tensor, int[])"/>, also counting the samples whose largest logit (the first on ties)
    /// is at their target: the batch's training accuracy, measured by the same forward pass.</summary>
    /// <param name="input">The batch, shape as the module expects.</param>
    /// <param name="targets">One class index per sample, in [0, classes).</param>
    /// <param name="correct">Samples predicted right.</param>
    /// <param name="labelSmoothing">Label smoothing ε in [0, 1] of the cross-entropy (<see cref="Functional.F.CrossEntropy"/>); 0: none.</param>
    /// <returns>The mean loss, as <see cref="TrainStep(Tensor, int[])"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is not in [0, 1].</exception>
    public float TrainStep(Tensor input, int[] targets, out int correct, float labelSmoothing = 0f)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(targets);
        Functional.F.CheckLabelSmoothing(labelSmoothing);
        var plan = Resolve(input.Shape, Module.Training, differentiable: true, inputGrad: false);
        if (plan is null) return EagerStep(input, targets, out correct, labelSmoothing);
        var (n, classes) = Functional.F.ValidateClassTargets("CompiledModel.TrainStep", plan.Shapes[plan.Output], targets);
        ++_generation;
        // A diverged model never reports a finite loss, even where the forward pass hides a non-finite weight (ReLU and max
        // pooling can drop NaN): one vectorised pass over each parameter (the largest magnitude is NaN or infinite if any is).
        bool finite = true;
        foreach (var p in plan.Parameters)
        {
            if (p.Grad is null) p.Grad = Tensor.Zeros(p.Shape);
            else p.Grad.Data.Clear();
            finite &= p.Numel == 0 || float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(p.Data));
        }
        plan.Forward(input.Storage);
        correct = CountCorrect(plan.Data[plan.Output], targets, classes);
        double loss = CrossEntropyKernels.ForwardBackward(plan.Data[plan.Output], targets, plan.Grad[plan.Output], n, classes, labelSmoothing);
        plan.Backward();
        return finite ? (float)loss : float.NaN;
    }

    /// <summary>The fused op list the plan for <paramref name="inputShape"/> runs in the current mode (or the fallback reason).</summary>
    public string Describe(params int[] inputShape)
    {
        var plan = Resolve(new Shape(inputShape), Module.Training, Module.Training, false);
        if (plan is null) return "eager: " + FallbackReason;
        return string.Join(Environment.NewLine, plan.Ops.Select(o => $"{o.Name} -> {plan.Shapes[o.Output]}"));
    }

    /// <summary>
    /// Runs <paramref name="steps"/> training steps (<see cref="TrainStep(Tensor, int[])"/>, without an optimiser step) and returns a
    /// table of milliseconds per step spent in each op's forward and backward: where the time goes.
    /// </summary>
    public string Profile(Tensor input, int[] targets, int steps = 5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        TrainStep(input, targets);
        var plan = Resolve(input.Shape, Module.Training, differentiable: true, inputGrad: false);
        if (plan is null) return "eager: " + FallbackReason;
        plan.Timings = new double[plan.Ops.Length, 2];
        try
        {
            for (int i = 0; i < steps; i++) TrainStep(input, targets);
            var lines = new List<string> { $"{"op",-40} {"output",-20} {"fwd ms",8} {"bwd ms",8}" };
            double f = 0, b = 0;
            for (int i = 0; i < plan.Ops.Length; i++)
            {
                double fi = plan.Timings[i, 0] * 1000 / steps, bi = plan.Timings[i, 1] * 1000 / steps;
                f += fi;
                b += bi;
                lines.Add($"{plan.Ops[i].Name,-40} {plan.Shapes[plan.Ops[i].Output].ToString(),-20} {fi,8:F2} {bi,8:F2}");
            }
            lines.Add($"{"total",-40} {"",-20} {f,8:F2} {b,8:F2}");
            return string.Join(Environment.NewLine, lines);
        }
        finally
        {
            plan.Timings = null;
        }
    }

    /// <summary>The training plan <see cref="TrainStep(Tensor, int[])"/> runs for <paramref name="inputShape"/>, or null when it runs eagerly.</summary>
    internal ExecutionPlan? TrainingPlan(Shape inputShape) => Resolve(inputShape, Module.Training, differentiable: true, inputGrad: false);

    /// <summary>The plan a no-grad <see cref="Forward"/> runs for <paramref name="inputShape"/> in the current mode, or null (eager).</summary>
    internal ExecutionPlan? InferencePlan(Shape inputShape) => Resolve(inputShape, Module.Training, differentiable: false, inputGrad: false);

    /// <summary>Rows of <paramref name="logits"/> (targets.Length x classes) whose first largest value is at the target.</summary>
    internal static int CountCorrect(ReadOnlySpan<float> logits, int[] targets, int classes)
    {
        int correct = 0;
        for (int i = 0; i < targets.Length; i++)
        {
            if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Slice(i * classes, classes)) == targets[i]) correct++;
        }
        return correct;
    }

    private float EagerStep(Tensor input, int[] targets, out int correct, float labelSmoothing)
    {
        foreach (var p in Module.Parameters()) p.Grad = null;
        var logits = Module.Forward(input);
        var loss = Functional.F.CrossEntropy(logits, targets, labelSmoothing: labelSmoothing); // validates the targets against the logits' shape
        correct = CountCorrect(logits.Data, targets, logits.Size(1));
        loss.Backward();
        return loss.Item();
    }

    private ExecutionPlan? Resolve(Shape shape, bool training, bool differentiable, bool inputGrad)
    {
        var key = (shape, training, differentiable, inputGrad);
        if (!_plans.TryGetValue(key, out var entry))
        {
            var plan = PlanBuilder.Build(Module, shape, differentiable, inputGrad, out var failure, out var forwardError);
            _plans[key] = entry = (plan, failure, forwardError);
        }
        FallbackReason = entry.Failure;
        GraphBreaks = entry.Plan?.GraphBreaks ?? [];
        return entry.Plan;
    }

    /// <summary>The autograd node of a differentiable <see cref="Forward"/>: runs the plan's backward.</summary>
    private sealed class CompiledBackward(CompiledModel owner, ExecutionPlan plan, long generation, Tensor input, Tensor[] inputs) : Node(inputs)
    {
        public override string Name => "CompiledBackward";

        protected internal override void Backward(Tensor gradOutput)
        {
            if (owner._generation != generation)
                throw new InvalidOperationException("CompiledModel: backward of an output whose plan has run again since; call Backward before the next Forward, or use the eager module");
            foreach (var p in plan.Parameters) GradOf(p);
            gradOutput.Data.CopyTo(plan.Grad[plan.Output]);
            plan.Backward();
            if (input.RequiresGrad && plan.Grad[0] is { } gx)
                System.Numerics.Tensors.TensorPrimitives.Add(GradOf(input), gx, GradOf(input));
        }
    }
}
