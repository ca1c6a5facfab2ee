namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Admits new top-level runs of one tenant (keyed by the tenant id) while fewer than its
/// <see cref="TenantQuotas.MaxConcurrentRuns"/> are live (child runs count among them, but a parent's
/// own children are never refused). One activation per tenant decides in turn, so two starts racing
/// for the last slot cannot both get it.
/// </summary>
[Alias("orchestrator.IRunAdmissionGrain")]
public interface IRunAdmissionGrain : IGrainWithStringKey
{
    /// <summary>Admits <paramref name="runId"/>; a run already live or just admitted is admitted again for free.</summary>
    /// <exception cref="QuotaExceededException">The tenant already has its maximum of live runs.</exception>
    [Alias("Admit")]
    Task AdmitAsync(string runId, CancellationToken cancellationToken = default);
}

/// <summary>A tenant quota would be exceeded; nothing was created.</summary>
[GenerateSerializer, Alias("orchestrator.QuotaExceededException")]
public sealed class QuotaExceededException : Exception
{
    public const string MaxInstances = "max_instances";
    public const string MaxConcurrentRuns = "max_concurrent_runs";

    public QuotaExceededException()
    {
    }

    public QuotaExceededException(string message)
        : base(message)
    {
    }

    public QuotaExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public QuotaExceededException(string quota, int limit, string message)
        : base(message)
    {
        Quota = quota;
        Limit = limit;
    }

    /// <summary><see cref="MaxInstances"/> or <see cref="MaxConcurrentRuns"/>.</summary>
    [Id(0)]
    public string Quota { get; private set; } = "";

    [Id(1)]
    public int Limit { get; private set; }
}
