using System.CommandLine;
using CnnSharp.Models;

namespace CnnSharp.Cli.Commands;

/// <summary>
/// The zoo architecture a command line names for a weights file that does not say (a bare PyTorch state dict), or for
/// no file at all: <c>--model</c> and the <c>--in-channels</c>, <c>--num-classes</c>, <c>--image-size</c> it is built
/// with. Every value is optional; one given overrides the checkpoint's metadata.
/// </summary>
internal sealed record ArchitectureOptions(string? Model, int? InChannels, int? NumClasses, int? ImageSize)
{
    /// <summary>Nothing named on the command line.</summary>
    public static ArchitectureOptions None { get; } = new(null, null, null, null);

    /// <summary>The four options, bound together.</summary>
    internal sealed class Binder
    {
        private readonly Option<string?>? _model;
        private readonly Option<int?> _inChannels;
        private readonly Option<int?> _numClasses;
        private readonly Option<int?> _imageSize;

        /// <param name="withModel">Whether to add <c>--model</c>/<c>-m</c> (false where the command defines its own).</param>
        public Binder(bool withModel = true)
        {
            if (withModel)
            {
                _model = new Option<string?>("--model", "-m") { Description = "Zoo model: " + string.Join(", ", ModelZoo.Names) };
                _model.AcceptOnlyFromAmong([.. ModelZoo.Names]);
            }
            _inChannels = NumericOption.OptionalInt("--in-channels", "Input channels (default: the checkpoint's, else the model's)", max: 4096);
            _imageSize = NumericOption.OptionalInt("--image-size",
                $"Side of the square input, up to {SummaryCommand.MaxImageSize} (default: the checkpoint's, else the model's)", max: SummaryCommand.MaxImageSize);
            _numClasses = NumericOption.OptionalInt("--num-classes", "Output classes (default: the checkpoint's, else the model's)", max: 1_000_000);
        }

        /// <summary>The options, to add to a command.</summary>
        public IEnumerable<Option> Options => _model is null ? [_inChannels, _numClasses, _imageSize] : [_model, _inChannels, _numClasses, _imageSize];

        /// <summary>Adds the options to <paramref name="command"/>.</summary>
        public void AddTo(Command command)
        {
            foreach (var option in Options) command.Add(option);
        }

        /// <summary>The values given on the command line.</summary>
        public ArchitectureOptions Get(ParseResult parse) =>
            new(_model is null ? null : parse.GetValue(_model), parse.GetValue(_inChannels), parse.GetValue(_numClasses), parse.GetValue(_imageSize));
    }
}
