using Microsoft.AspNetCore.Http.Metadata;

namespace Orchestrator.Gateway.Limits;

/// <summary>
/// The largest request body each endpoint group reads. Kestrel stops reading past it (413), so a
/// client cannot make the gateway buffer more than the endpoint could ever accept.
/// </summary>
public static class BodyLimits
{
    /// <summary>An instance spec is a few fields and some environment variables.</summary>
    public const long Instances = 64 * 1024;

    /// <summary>An exec carries up to 8 MiB of stdin, base64-encoded inside JSON.</summary>
    public const long Exec = 12 * 1024 * 1024;

    /// <summary>A definition is at most 256 KiB of YAML or JSON.</summary>
    public const long Workflows = Orchestrator.Gateway.Workflows.WorkflowRequest.MaxDefinitionBytes;

    /// <summary>A run's inputs and secrets.</summary>
    public const long Runs = Orchestrator.Gateway.Runs.RunRequest.MaxBodyBytes;

    public const long Tenants = Orchestrator.Gateway.Tenants.TenantEndpoints.MaxBodyBytes;

    /// <summary>Endpoints that take no body still get a small allowance for clients that send <c>{}</c>.</summary>
    /// <summary>A secret's value is at most 64 KiB of UTF-8, which JSON escaping (\uXXXX) can make six times longer.</summary>
    public const long Secrets = 6 * Orchestrator.Grains.Tenants.TenantSecretRules.MaxValueBytes + 1024;

    public const long Other = 16 * 1024;
}

/// <summary>The largest body an endpoint reads; Kestrel answers 413 past it.</summary>
internal sealed class BodySizeLimit(long bytes) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize { get; } = bytes;
}
