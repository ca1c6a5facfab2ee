using System.Collections.Frozen;
using System.Text;
using Orchestrator.Workflows.Expressions;

namespace Orchestrator.Workflows.Runtime;

public enum TemplateMode
{
    /// <summary>Values are inserted as text.</summary>
    Plain = 0,

    /// <summary>
    /// The text is a shell command: every interpolated value becomes one single-quoted shell word,
    /// so no input, output or secret can inject shell syntax. <c>| raw</c> opts out per interpolation.
    /// </summary>
    Shell = 1,
}

/// <summary>Renders <c>${{ }}</c> templates against a run's <see cref="ExpressionContext"/>.</summary>
public static class TemplateRenderer
{
    /// <summary>The <c>ssh.exec</c> parameters that are shell text (rendered in <see cref="TemplateMode.Shell"/>).</summary>
    public static FrozenSet<string> ShellParameters { get; } = FrozenSet.Create(StringComparer.Ordinal, "command", "script");

    /// <exception cref="ExpressionSyntaxException">The template is invalid (validation reports this before a run starts).</exception>
    public static string Render(string text, ExpressionContext context, TemplateMode mode = TemplateMode.Plain)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Template.IsTemplate(text))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var part in Template.Parse(text).Parts)
        {
            switch (part)
            {
                case TextPart literal:
                    builder.Append(literal.Text);
                    break;
                case InterpolationPart interpolation:
                    var value = ExpressionEvaluator.Evaluate(interpolation.Expression, context).ToText();
                    builder.Append(mode == TemplateMode.Shell && !interpolation.Raw ? ShellQuoting.Quote(value) : value);
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Renders every string in a value tree. A string that is exactly one interpolation keeps the
    /// type of its value, so <c>expect_status: ${{ inputs.status }}</c> stays a number.
    /// </summary>
    public static WorkflowValue RenderValue(WorkflowValue value, ExpressionContext context, TemplateMode mode = TemplateMode.Plain)
    {
        ArgumentNullException.ThrowIfNull(value);
        switch (value)
        {
            case StringValue text when Template.IsTemplate(text.Value):
                if (mode == TemplateMode.Plain && Template.Parse(text.Value).SoleInterpolation is { } sole)
                {
                    return ExpressionEvaluator.Evaluate(sole.Expression, context);
                }

                return new StringValue(Render(text.Value, context, mode));
            case ListValue list:
                return new ListValue(new ValueList<WorkflowValue>(list.Items.Select(item => RenderValue(item, context, mode))));
            case MapValue map:
                return new MapValue(new ValueDictionary<WorkflowValue>(
                    map.Entries.Select(entry => KeyValuePair.Create(entry.Key, RenderValue(entry.Value, context, mode)))));
            default:
                return value;
        }
    }

    /// <summary>
    /// A step's <c>with</c> parameters ready to execute: <c>command</c> and <c>script</c> of
    /// <c>ssh.exec</c> rendered as shell text, everything else as plain values.
    /// </summary>
    public static ValueDictionary<WorkflowValue> RenderParameters(StepDefinition step, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(step);
        return new ValueDictionary<WorkflowValue>(step.With.Select(entry =>
        {
            var mode = step.Uses == StepTypes.SshExec && ShellParameters.Contains(entry.Key) ? TemplateMode.Shell : TemplateMode.Plain;
            return KeyValuePair.Create(entry.Key, RenderValue(entry.Value, context, mode));
        }));
    }
}
