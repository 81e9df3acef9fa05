using CnnSharp.Onnx;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>The whole-network cases of the conformance suite (<c>pytorch-models/NAME</c>): weights, input and PyTorch's output.</summary>
internal static class ConformanceModels
{
    public static string StateDict(string name) => ConformanceData.PathOf("pytorch-models", name, "state_dict.safetensors");

    public static string Model(string name) => ConformanceData.PathOf("pytorch-models", name, "model.onnx");

    public static Tensor Input(string name) => OnnxTensors.Read(ConformanceData.PathOf("pytorch-models", name, "test_data_set_0", "input_0.pb")).ToTensor();

    public static Tensor Output(string name) => OnnxTensors.Read(ConformanceData.PathOf("pytorch-models", name, "test_data_set_0", "output_0.pb")).ToTensor();
}
