namespace Orchestrator.Grains.Instances;

/// <summary>The instance was destroyed; only reads and a repeated destroy still work.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceDestroyedException")]
public sealed class InstanceDestroyedException : Exception
{
    public InstanceDestroyedException()
    {
    }

    public InstanceDestroyedException(string message)
        : base(message)
    {
    }

    public InstanceDestroyedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The instance was never created.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceNotFoundException")]
public sealed class InstanceNotFoundException : Exception
{
    public InstanceNotFoundException()
    {
    }

    public InstanceNotFoundException(string message)
        : base(message)
    {
    }

    public InstanceNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The call contradicts the instance's state: it exists with another spec, or its create is unfinished.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceConflictException")]
public sealed class InstanceConflictException : Exception
{
    public InstanceConflictException()
    {
    }

    public InstanceConflictException(string message)
        : base(message)
    {
    }

    public InstanceConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A field of the request is invalid; <see cref="Field"/> names it as the API spells it.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceValidationException")]
public sealed class InstanceValidationException : Exception
{
    public InstanceValidationException()
    {
    }

    public InstanceValidationException(string message)
        : base(message)
    {
    }

    public InstanceValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InstanceValidationException(string field, string message)
        : base(message)
    {
        Field = field;
    }

    [Id(0)]
    public string Field { get; init; } = "";
}

/// <summary>
/// Fly refused or failed a call. <see cref="Kind"/> is one of <see cref="InstanceProviderErrorKinds"/>;
/// <see cref="FlyMessage"/> is Fly's own words, for the caller to see.
/// </summary>
[GenerateSerializer, Alias("orchestrator.InstanceProviderException")]
public sealed class InstanceProviderException : Exception
{
    public InstanceProviderException()
    {
    }

    public InstanceProviderException(string message)
        : base(message)
    {
    }

    public InstanceProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InstanceProviderException(string kind, string message, string? flyMessage, int? statusCode)
        : base(message)
    {
        Kind = kind;
        FlyMessage = flyMessage;
        StatusCode = statusCode;
    }

    [Id(0)]
    public string Kind { get; init; } = InstanceProviderErrorKinds.Unavailable;

    [Id(1)]
    public string? FlyMessage { get; init; }

    [Id(2)]
    public int? StatusCode { get; init; }
}

public static class InstanceProviderErrorKinds
{
    /// <summary>No room (capacity or quota) for the request: another region or a later try may work.</summary>
    public const string Capacity = "capacity";

    /// <summary>Fly rejected the request's content.</summary>
    public const string Validation = "validation";

    public const string RateLimited = "rate_limited";

    /// <summary>Fly failed or did not answer in time; a retry with the same request id is safe.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>The machine is not in a state that allows the call.</summary>
    public const string Conflict = "conflict";
}

/// <summary>
/// This cluster cannot run machines right now (e.g. the embedded emulator's host lacks OpenSSH server); nothing
/// was created. The message names what is missing and how to fix it.
/// </summary>
[GenerateSerializer, Alias("orchestrator.MachinesUnavailableException")]
public sealed class MachinesUnavailableException : Exception
{
    public MachinesUnavailableException()
    {
    }

    public MachinesUnavailableException(string message)
        : base(message)
    {
    }

    public MachinesUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
