using System.Text.Json;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

/// <summary>Replays torch.optim runs (fixed gradients, 6 steps, two parameters) and compares every step and the final state.</summary>
public sealed class OptimizerFixtureTests
{
    // Six float32 updates of O(1) values: PyTorch and we may round each elementwise op differently (FMA, scalar
    // casts), a few ulps per step, so 2e-6 relative / 1e-6 absolute bounds the drift with margin.
    private static readonly Tolerance s_tol = new(2e-6, 1e-6);

    public static TheoryData<string> Cases =>
    [
        "adam_default", "adam_lr_betas_eps", "adam_weight_decay_amsgrad", "adam_skips_none_grad",
        "sgd_plain", "sgd_momentum_dampening_weight_decay", "sgd_nesterov",
        "adamw_default", "adamw_lr_weight_decay_amsgrad", "adamw_skips_none_grad",
        "rmsprop_default", "rmsprop_alpha_eps_weight_decay", "rmsprop_momentum_centered", "rmsprop_momentum",
    ];

    private static Optimizer Create(string name, JsonElement kwargs, Tensor[] parameters)
    {
        float Get(string key, float fallback) => kwargs.TryGetProperty(key, out var v) ? (float)v.GetDouble() : fallback;
        bool GetBool(string key) => kwargs.TryGetProperty(key, out var v) && v.GetBoolean();
        (float, float)? betas = kwargs.TryGetProperty("betas", out var b) ? ((float)b[0].GetDouble(), (float)b[1].GetDouble()) : null;
        if (name.StartsWith("adamw", StringComparison.Ordinal))
            return new AdamW(parameters, Get("lr", 1e-3f), betas, Get("eps", 1e-8f), Get("weight_decay", 1e-2f), GetBool("amsgrad"));
        if (name.StartsWith("adam", StringComparison.Ordinal))
            return new Adam(parameters, Get("lr", 1e-3f), betas, Get("eps", 1e-8f), Get("weight_decay", 0f), GetBool("amsgrad"));
        if (name.StartsWith("rmsprop", StringComparison.Ordinal))
            return new RmsProp(parameters, Get("lr", 1e-2f), Get("alpha", 0.99f), Get("eps", 1e-8f), Get("weight_decay", 0f), Get("momentum", 0f), GetBool("centered"));
        return new Sgd(parameters, Get("lr", float.NaN), Get("momentum", 0f), Get("dampening", 0f), Get("weight_decay", 0f), GetBool("nesterov"));
    }

    [Theory, MemberData(nameof(Cases))]
    public void Steps_and_state_match_torch_optim(string name)
    {
        var fx = JsonFixture.Load($"training/optim_{name}.json");
        var shapes = fx.GetProperty("shapes").EnumerateArray().Select(s => s.Ints()).ToArray();
        var initial = fx.GetProperty("initial").EnumerateArray().Select(v => v.Floats()).ToArray();
        var parameters = shapes.Select((s, i) => Tensor.FromArray(initial[i], s).RequiresGrad_()).ToArray();
        var opt = Create(name, fx.GetProperty("kwargs"), parameters);

        var grads = fx.GetProperty("grads");
        var after = fx.GetProperty("params_after");
        for (int step = 0; step < grads.GetArrayLength(); step++)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                var g = grads[step][i];
                parameters[i].Grad = g.ValueKind == JsonValueKind.Null ? null : Tensor.FromArray(g.Floats(), shapes[i]);
            }
            opt.Step();
            for (int i = 0; i < parameters.Length; i++)
                TensorAssert.Close(after[step][i].Floats(), parameters[i].Data, s_tol, $"{name}: parameter {i} after step {step + 1}");
        }

        var expectedState = fx.GetProperty("state").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Floats());
        var state = opt.StateDict().ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(expectedState.Keys.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, expected) in expectedState)
            TensorAssert.Close(expected, state[key].Data, s_tol, $"{name}: {key}");
    }
}
