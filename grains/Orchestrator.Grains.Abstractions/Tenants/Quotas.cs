namespace Orchestrator.Grains.Tenants;

/// <summary>A tenant quota would be exceeded; nothing was created.</summary>
[GenerateSerializer, Alias("orchestrator.QuotaExceededException")]
public sealed class QuotaExceededException : Exception
{
    public const string MaxInstances = "max_instances";
    public const string MaxConcurrentRuns = "max_concurrent_runs";
    public const string MaxRunDepth = "max_run_depth";

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

    /// <summary><see cref="MaxInstances"/>, <see cref="MaxConcurrentRuns"/> or <see cref="MaxRunDepth"/>.</summary>
    [Id(0)]
    public string Quota { get; private set; } = "";

    [Id(1)]
    public int Limit { get; private set; }
}
