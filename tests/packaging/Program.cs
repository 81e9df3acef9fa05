// Consumes the packed CnnSharp, CnnSharp.Onnx and CnnSharp.Data packages the way a user's project does (PackageReference
// from a folder feed): defines a small CNN, trains it a few steps on the eager and the compiled path, saves and reloads a
// checkpoint, exports it to ONNX and runs that, and normalizes a sample with a CnnSharp.Data transform. Exits non-zero
// on any mismatch. Run by tests/packaging/consume.sh, never built with the solution.
using CnnSharp;
using CnnSharp.Data.Transforms;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Modules;
using CnnSharp.Onnx;
using CnnSharp.Optimizers;

var generator = new Generator(7);
var model = new Sequential(
    new Conv2d(1, 16, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(16), new ReLU(),
    new MaxPool2d(kernelSize: 2, stride: 2), new Flatten(), new Linear(16 * 4 * 4, 3, generator: generator));
var x = Tensor.Randn(generator, 6, 1, 8, 8);
int[] y = [0, 1, 2, 0, 1, 2];
var sgd = new Sgd(model.Parameters(), 0.1f);
float first = 0, last = 0;
for (int step = 0; step < 20; step++)
{
    sgd.ZeroGrad();
    var loss = F.CrossEntropy(model.Forward(x), y);
    loss.Backward();
    sgd.Step();
    if (step == 0) first = loss.Item();
    last = loss.Item();
}
var compiled = model.Compile(6, 1, 8, 8);
float compiledLoss = compiled.TrainStep(x, y);
string path = Path.Combine(Path.GetTempPath(), $"cnnsharp-package-check-{Environment.ProcessId}.safetensors");
model.SaveSafetensors(path);
var copy = new Sequential(
    new Conv2d(1, 16, kernelSize: 3, padding: 1), new BatchNorm2d(16), new ReLU(),
    new MaxPool2d(kernelSize: 2, stride: 2), new Flatten(), new Linear(16 * 4 * 4, 3));
copy.LoadSafetensors(path);
File.Delete(path);
model.Eval();
copy.Eval();
var expected = model.Forward(x).ToArray();
bool same = expected.SequenceEqual(copy.Forward(x).ToArray());

// CnnSharp.Onnx: export, load, run; the outputs agree up to float rounding (the runtime sums in another order).
string onnxPath = Path.ChangeExtension(path, ".onnx");
OnnxExporter.Export(model, [6, 1, 8, 8], onnxPath);
var onnx = OnnxSession.Load(onnxPath).Run(x).ToArray();
File.Delete(onnxPath);
float onnxError = expected.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();

// CnnSharp.Data: a transform from the data package (ITransform lives in the core one).
ITransform normalize = new Normalize([0.5f], [0.25f]);
var normalized = new float[64];
normalize.Apply(x.ToArray().AsSpan(0, 64), new Shape(1, 8, 8), normalized, generator);
bool normalizes = Math.Abs(normalized[0] - (x.ToArray()[0] - 0.5f) / 0.25f) < 1e-5f;

Console.WriteLine($"loss {first:F4} -> {last:F4}, compiled step {compiledLoss:F4}, reloaded outputs identical: {same}, "
    + $"ONNX max error {onnxError:G3}, Normalize: {normalizes}");
if (!(last < first) || !float.IsFinite(compiledLoss) || !same || !(onnxError < 1e-4f) || onnx.Length != expected.Length || !normalizes)
{
    Console.Error.WriteLine("package check FAILED");
    return 1;
}
Console.WriteLine("package check passed");
return 0;
