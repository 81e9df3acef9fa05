namespace CnnSharp.Models;

/// <summary>Input checks shared by the image models, so a wrong shape is reported against the model, not a layer deep inside.</summary>
internal static class ModelInput
{
    /// <summary>Throws unless <paramref name="input"/> is (N, <paramref name="channels"/>, H, W).</summary>
    /// <exception cref="ShapeException">The input has another rank or channel count.</exception>
    public static void RequireImages(string model, Tensor input, int channels)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Shape[1] != channels)
            throw new ShapeException($"{model}: expected input (N, {channels}, H, W), got {input.Shape}");
    }
}
