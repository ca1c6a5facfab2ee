using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Workflows;

/// <summary>
/// The names the API gives workflows: 1 to 63 lowercase letters, digits and '-', so that every registered workflow
/// can be named in a path and a grain key. (The definition language also allows capitals, '.' and '_'; the API does not.)
/// </summary>
public static partial class WorkflowNames
{
    /// <summary>Null when <paramref name="name"/> is one, else what a name must be.</summary>
    public static string? Validate(string? name) =>
        name is not null && Pattern().IsMatch(name) ? null : "must be 1 to 63 lowercase letters, digits and '-'";

    [GeneratedRegex("^[a-z0-9-]{1,63}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
