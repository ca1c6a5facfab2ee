using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Tenants;

/// <summary>The quotas of tenants that set none of their own (<c>Orchestrator:Tenants</c>).</summary>
public sealed class TenantQuotaOptions
{
    public const string SectionName = "Orchestrator:Tenants";

    /// <summary>Instances a tenant may hold that are not destroyed.</summary>
    public int DefaultMaxInstances { get; set; } = 50;

    /// <summary>Top-level runs a tenant may have live (pending, running or waiting) at once.</summary>
    public int DefaultMaxConcurrentRuns { get; set; } = 100;

    /// <summary>How deep runs may nest child runs: a run started by the API is depth 0, its child 1, and so on.</summary>
    public int DefaultMaxRunDepth { get; set; } = 5;
}

internal sealed class TenantQuotaOptionsValidator : IValidateOptions<TenantQuotaOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantQuotaOptions options)
    {
        var problems = new List<string>();
        if (options.DefaultMaxInstances is < 0 or > 1_000_000)
        {
            problems.Add($"{TenantQuotaOptions.SectionName}:DefaultMaxInstances must be from 0 to 1000000 (got {options.DefaultMaxInstances})");
        }

        if (options.DefaultMaxConcurrentRuns is < 0 or > 1_000_000)
        {
            problems.Add($"{TenantQuotaOptions.SectionName}:DefaultMaxConcurrentRuns must be from 0 to 1000000 (got {options.DefaultMaxConcurrentRuns})");
        }

        if (options.DefaultMaxRunDepth is < 0 or > TenantQuotas.MaxRunDepthLimit)
        {
            problems.Add($"{TenantQuotaOptions.SectionName}:DefaultMaxRunDepth must be from 0 to {TenantQuotas.MaxRunDepthLimit} (got {options.DefaultMaxRunDepth})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
