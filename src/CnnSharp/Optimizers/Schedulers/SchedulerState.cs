using System.Globalization;
using CnnSharp.Modules;

namespace CnnSharp.Optimizers.Schedulers;

/// <summary>
/// Reads a scheduler's <see cref="StateDict"/>: the keys are matched with <see cref="StateDict.MatchKeys"/> (the routine
/// every state load uses) and each value is checked, so a bad state is one <see cref="StateDictException"/> listing every
/// problem, raised before anything changes.
/// </summary>
internal sealed class SchedulerState
{
    private readonly string _owner;
    private readonly StateDict _state;
    private readonly List<string> _problems = [];

    /// <summary>Starts reading <paramref name="state"/> for <paramref name="owner"/> (e.g. <c>StepLr</c>), which expects exactly <paramref name="keys"/>.</summary>
    public SchedulerState(string owner, StateDict state, IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(state);
        _owner = owner;
        _state = state;
        var (missing, unexpected) = StateDict.MatchKeys(keys, state.Keys, state.ContainsKey);
        if (missing.Count > 0) _problems.Add($"missing key(s) {string.Join(", ", missing.Select(k => $"'{k}'"))}");
        if (unexpected.Count > 0) _problems.Add($"unexpected key(s) {string.Join(", ", unexpected.Select(k => $"'{k}'"))}");
    }

    /// <summary>
    /// A number: a float64 scalar (exact), an int64 scalar, or a one-element float32 tensor; NaN when absent or not a
    /// scalar (reported). When <paramref name="rate"/>, it must be a finite learning rate >= 0.
    /// </summary>
    public double Number(string key, bool rate = false)
    {
        if (!_state.TryGetValue(key, out var tensor)) return double.NaN;
        double v = _state.TryGetFloat64(key, out double d) ? d : _state.TryGetInt64(key, out long l) ? l
            : tensor.Numel == 1 ? tensor.Data[0] : double.NaN;
        if (tensor.Numel != 1) _problems.Add($"'{key}' must be a scalar, got shape {tensor.Shape}");
        else if (rate && !(v >= 0 && double.IsFinite(v) && float.IsFinite((float)v)))
            _problems.Add($"'{key}' must be a finite learning rate >= 0, got {v.ToString("R", CultureInfo.InvariantCulture)}");
        return v;
    }

    /// <summary>A whole number from <paramref name="min"/> to <see cref="int.MaxValue"/> (int64, or a whole float value); <paramref name="min"/> when absent or invalid (reported).</summary>
    public int Whole(string key, int min)
    {
        if (!_state.ContainsKey(key)) return min;
        double v = Number(key);
        if (v >= min && v <= int.MaxValue && v == Math.Floor(v)) return (int)v;
        if (!double.IsNaN(v) || _state[key].Numel == 1)
            _problems.Add($"'{key}' must be a whole number >= {min}, got {v.ToString("R", CultureInfo.InvariantCulture)}");
        return min;
    }

    /// <summary>Throws the problems found so far, if any.</summary>
    /// <exception cref="StateDictException">Keys were missing or unexpected, or values invalid.</exception>
    public void ThrowIfInvalid()
    {
        if (_problems.Count > 0) throw new StateDictException($"{_owner}.LoadStateDict: {string.Join("; ", _problems)}");
    }

    /// <summary>The entries of <paramref name="state"/> under <paramref name="prefix"/>, with the prefix removed (a nested scheduler's state).</summary>
    public static StateDict Nested(StateDict state, string prefix)
    {
        var nested = new StateDict();
        foreach (string key in state.Keys)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string name = key[prefix.Length..];
            if (state.TryGetInt64(key, out long l)) nested.AddInt64(name, l);
            else if (state.TryGetFloat64(key, out double d)) nested.AddFloat64(name, d);
            else nested.Add(name, state[key]);
        }
        return nested;
    }

    /// <summary>Copies every entry of <paramref name="from"/> into <paramref name="to"/> under <paramref name="prefix"/>, keeping its kind.</summary>
    public static void AddNested(StateDict to, string prefix, StateDict from)
    {
        foreach (string key in from.Keys)
        {
            if (from.TryGetInt64(key, out long l)) to.AddInt64(prefix + key, l);
            else if (from.TryGetFloat64(key, out double d)) to.AddFloat64(prefix + key, d);
            else to.Add(prefix + key, from[key]);
        }
    }
}
