using Microsoft.ML.OnnxRuntime;

namespace CnnSharp.Tests.Onnx;

/// <summary>Runs a serialized ONNX model with ONNX Runtime (the test-only peer) on one float input.</summary>
internal static class OnnxRuntimeRunner
{
    public static Tensor Run(byte[] model, Tensor input, string inputName = "input")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray(), input.Shape.Dims.ToArray().Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, new Dictionary<string, OrtValue> { [inputName] = value }, session.OutputNames);
        var output = results[0];
        var shape = output.GetTensorTypeAndShape().Shape.Select(d => checked((int)d)).ToArray();
        return Tensor.FromArray(output.GetTensorDataAsSpan<float>(), shape);
    }
}
