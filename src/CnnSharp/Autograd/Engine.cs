namespace CnnSharp.Autograd;

/// <summary>Reverse-mode sweep: topological order from the root, then each node pushes its output gradient to its inputs.</summary>
internal static class Engine
{
    public static void Backward(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: tensor of shape {root.Shape} does not require grad and has no grad_fn");
        if (gradient is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException($"Backward: gradient can be implicit only for a one-element output, got shape {root.Shape}");
        }
        else if (gradient.Shape != root.Shape)
        {
            throw new ShapeException($"Backward: gradient shape {gradient.Shape} does not match output shape {root.Shape}");
        }

        var order = TopologicalOrder(root);
        // Intermediate gradients start from zero for each sweep; leaves keep accumulating (PyTorch semantics).
        // (A leftover from a sweep that threw is dropped, not recycled.)
        foreach (var t in order) if (!t.IsLeaf) t.ReleaseGrad(recycle: false);

        var seed = root.GradSpanForAccumulate();
        if (gradient is null) seed[0] += 1f;
        else Kernels.ElementBlocks.Accumulate(root.Grad!.Storage, gradient.Storage);

        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (t.GradFn is null || t.Grad is null) continue;
            t.GradFn.Backward(t.Grad);
            // Non-leaf gradients are not retained (PyTorch's default): once its node has read it, nothing can reach the
            // buffer, so it goes back to the caching allocator for the next tensor of that size (this sweep or the next step's).
            t.ReleaseGrad(recycle: true);
        }
    }

    // Iterative DFS post-order over tensors that carry a GradFn; a tensor appears after all tensors it depends on.
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int Next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Count)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else
            {
                order.Add(t);
            }
        }
        return order;
    }
}
