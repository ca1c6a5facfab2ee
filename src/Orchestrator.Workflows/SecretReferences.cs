using System.Text.RegularExpressions;

namespace Orchestrator.Workflows;

/// <summary>
/// The secret names a definition reads (<c>${{ secrets.NAME }}</c> in its steps' parameters): a run fetches only
/// these from its tenant's secrets, so its encrypted state never holds the others.
/// </summary>
public static partial class SecretReferences
{
    /// <summary>Each name referenced anywhere in a step's parameters, once, in ordinal order.</summary>
    public static IReadOnlyList<string> In(WorkflowDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var step in definition.AllSteps())
        {
            foreach (var value in step.With.Values)
            {
                Collect(value, names);
            }
        }

        return [.. names];
    }

    private static void Collect(WorkflowValue value, SortedSet<string> names)
    {
        switch (value)
        {
            case StringValue text when text.Value.Contains("secrets.", StringComparison.Ordinal):
                foreach (Match match in Reference().Matches(text.Value))
                {
                    names.Add(match.Groups[1].Value);
                }

                break;
            case ListValue list:
                foreach (var item in list.Items)
                {
                    Collect(item, names);
                }

                break;
            case MapValue map:
                foreach (var entry in map.Entries.Values)
                {
                    Collect(entry, names);
                }

                break;
        }
    }

    // Inside ${{ }} a reference is secrets.NAME (the validator refuses any other form), so the name is what follows.
    [GeneratedRegex(@"\bsecrets\.([A-Z_][A-Z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
