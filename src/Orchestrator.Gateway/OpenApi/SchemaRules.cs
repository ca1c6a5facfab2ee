using Microsoft.OpenApi;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// Rules a handler enforces on a parameter, written into its schema so that validators and generated clients
/// know them too (they were only in the descriptions' prose).
/// </summary>
public sealed record SchemaRules(long? Minimum = null, long? Maximum = null, string? Pattern = null, int? MaxLength = null)
{
    /// <summary>An instance's name (<c>InstanceSpecRules</c>): a DNS label of at most 63 characters.</summary>
    public static SchemaRules InstanceName { get; } = new(Pattern: "^[a-z](?:[a-z0-9-]*[a-z0-9])?$", MaxLength: 63);

    /// <summary>A tenant's id (<c>TenantId</c>): lowercase letters, digits and single '-', at most 40 characters.</summary>
    public static SchemaRules TenantId { get; } = new(Pattern: "^[a-z](?:-?[a-z0-9])*$", MaxLength: 40);

    /// <summary>A workflow's name as the API takes it (<c>WorkflowRequest</c>).</summary>
    public static SchemaRules WorkflowName { get; } = new(Pattern: "^[a-z0-9-]{1,63}$", MaxLength: 63);

    /// <summary>A run's id (<c>RunRequest</c>).</summary>
    public static SchemaRules RunId { get; } = new(Pattern: "^[a-z0-9-]{1,63}$", MaxLength: 63);

    /// <summary>A step's id (<c>RunRequest</c>).</summary>
    public static SchemaRules StepId { get; } = new(Pattern: "^[A-Za-z_][A-Za-z0-9_-]{0,63}$", MaxLength: 64);

    /// <summary>A signal's name (<c>RunRequest</c>).</summary>
    public static SchemaRules SignalName { get; } = new(Pattern: "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", MaxLength: 64);

    /// <summary>A page size.</summary>
    public static SchemaRules PageSize { get; } = new(Minimum: 1, Maximum: 100);

    /// <summary>A terminal's width or height.</summary>
    public static SchemaRules TerminalSize { get; } = new(Minimum: 1, Maximum: 1000);

    internal void ApplyTo(IOpenApiSchema candidate)
    {
        if (candidate is not OpenApiSchema schema)
        {
            return;
        }

        schema.Minimum = Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? schema.Minimum;
        schema.Maximum = Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? schema.Maximum;
        schema.Pattern = Pattern ?? schema.Pattern;
        schema.MaxLength = MaxLength ?? schema.MaxLength;
    }
}
