namespace Orchestrator.Grains.Sessions;

/// <summary>Why SSH to a machine failed.</summary>
public static class UnreachableReasons
{
    /// <summary>No answer, refused, or the connection dropped.</summary>
    public const string Unreachable = "unreachable";

    /// <summary>The machine showed a host key other than the one pinned on first connect.</summary>
    public const string HostKeyMismatch = "host-key-mismatch";

    /// <summary>The machine did not accept the instance's key.</summary>
    public const string AuthenticationFailed = "authentication-failed";
}

/// <summary>The instance exists and is started, but SSH to its machine failed; <see cref="Reason"/> says how.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceUnreachableException")]
public sealed class InstanceUnreachableException : Exception
{
    public InstanceUnreachableException()
    {
    }

    public InstanceUnreachableException(string message)
        : base(message)
    {
    }

    public InstanceUnreachableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InstanceUnreachableException(string reason, string message)
        : base(message) => Reason = reason;

    [Id(0)]
    public string Reason { get; init; } = UnreachableReasons.Unreachable;
}
