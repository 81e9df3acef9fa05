// Consumes the packed CnnSharp package the way a user's project does (PackageReference from a folder feed): defines a
// small CNN, trains it a few steps on the eager and the compiled path, saves and reloads a checkpoint. Exits non-zero
// on any mismatch. Run by tests/packaging/consume.sh, never built with the solution.
using CnnSharp;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Modules;
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
bool same = model.Forward(x).ToArray().SequenceEqual(copy.Forward(x).ToArray());
Console.WriteLine($"loss {first:F4} -> {last:F4}, compiled step {compiledLoss:F4}, reloaded outputs identical: {same}");
if (!(last < first) || !float.IsFinite(compiledLoss) || !same)
{
    Console.Error.WriteLine("package check FAILED");
    return 1;
}
Console.WriteLine("package check passed");
return 0;
