using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>The run's secrets: handed to the steps that use them, masked in everything the run keeps or shows.</summary>
internal sealed partial class WorkflowRunGrain
{
    // Made with the first expression context (before any step runs, or by the first view): it knows every secret value.
    private Redactor? _secretRedactor;

    private IReadOnlyDictionary<string, string> Secrets => _secrets ?? new Dictionary<string, string>();

    private string Redact(string text) => _secretRedactor?.Redact(text) ?? text;

    /// <summary>
    /// Masks the secrets in one output stream chunk by chunk: masking each chunk alone would miss a secret cut in two.
    /// The step's context, and so the run's redactor, exists before any step runs.
    /// </summary>
    private StreamRedactor CreateOutputRedactor() => (_secretRedactor ?? new Redactor([])).CreateStream();
}
