using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Orchestrator.Gateway.OpenApi;

// The handlers read their bodies by hand so that every error names its field; these records only describe
// to the OpenAPI document what those parsers accept. Nothing deserializes into them.

/// <summary>The body of <c>POST /api/instances</c>.</summary>
[RefusesUnknownMembers]
public sealed record CreateInstanceRequest(
    [property: RegularExpression("^[a-z](?:[a-z0-9-]*[a-z0-9])?$"), StringLength(63, MinimumLength = 1)]
    [property: Description("The instance's name, unique in the tenant: a DNS label (lowercase letters, digits and '-', starting with a letter), at most 63 characters.")]
    string Name,
    [property: Description("The Fly region to run in, such as 'ams', 'fra' or 'iad'.")]
    string Region,
    [property: Description("A preset name (shared-cpu-{1,2,4,6,8}x or performance-{1,2,4,6,8,10,12,14,16}x) or an explicit {cpus, memory_mb, cpu_kind}.")]
    InstanceSizeRequest Size,
    [property: StringLength(512, MinimumLength = 1)]
    [property: Description("The container image; the cluster's default image when omitted.")]
    string? Image = null,
    [property: Description("Environment variables for the machine (at most 64).")]
    IReadOnlyDictionary<string, string>? Env = null,
    [property: Description("A volume to create and mount ({size_gb, path}), or one kept by a destroyed instance of the tenant to mount ({id, path}).")]
    InstanceVolumeRequest? Volume = null,
    [property: Description("Whether the machine gets a public IP address.")]
    bool? PublicIp = null);

/// <summary>An explicit machine size.</summary>
public sealed record InstanceSizeRequest(
    [property: Range(1, 16)]
    [property: Description("CPUs: 1, 2, 4, 6 or 8 shared; 1 to 16 (even above 2) performance.")]
    int Cpus,
    [property: Description("Memory in MB, a multiple of 256 within the CPU kind's range.")]
    int MemoryMb,
    [property: Description("'shared' (the default) or 'performance'.")]
    string? CpuKind = null);

/// <summary>A volume to create with the instance, or a kept one to mount.</summary>
public sealed record InstanceVolumeRequest(
    [property: Description("Absolute mount path other than '/', without '..' or spaces.")]
    string Path,
    [property: Range(1, 500)]
    [property: Description("Size in GB, from 1 to 500, of a new volume. Not together with id.")]
    int? SizeGb = null,
    [property: Description("The id of a volume that one of the tenant's destroyed instances kept (DELETE with keep_volume=true) and no live instance mounts; it must be in the instance's region. Not together with size_gb.")]
    string? Id = null);

/// <summary>The body of <c>POST /api/instances/{id}/exec</c>.</summary>
[RefusesUnknownMembers]
public sealed record ExecRequest(
    [property: StringLength(131072, MinimumLength = 1)]
    [property: Description("The shell command line to run (at most 128 KiB, no NUL).")]
    string Command,
    [property: Description("Extra environment variables for the command (at most 256).")]
    IReadOnlyDictionary<string, string>? Env = null,
    [property: Description("The working directory.")]
    string? Cwd = null,
    [property: Description("Seconds before the command is killed: more than 0 and at most 86400 (default 3600).")]
    double? TimeoutSeconds = null,
    [property: Description("Text written to the command's standard input (UTF-8). Not together with stdin_base64.")]
    string? Stdin = null,
    [property: Description("Bytes written to the command's standard input, base64-encoded (at most 8 MiB). Not together with stdin.")]
    byte[]? StdinBase64 = null,
    [property: Range(1, 16777216)]
    [property: Description("For the buffered application/json answer only: how many bytes of each stream are kept, from 1 to 16777216 (default 1048576).")]
    int? MaxOutputBytes = null);

/// <summary>The body of <c>POST /api/runs</c>.</summary>
[RefusesUnknownMembers]
public sealed record StartRunRequest(
    [property: RegularExpression("^[a-z0-9-]{1,63}$")]
    [property: Description("The registered workflow to run.")]
    string Workflow,
    [property: Range(1, int.MaxValue)]
    [property: Description("The workflow version to run, from 1; the latest when omitted.")]
    int? Version = null,
    [property: Description("The workflow's inputs as a JSON object.")]
    IReadOnlyDictionary<string, JsonElement>? Inputs = null,
    [property: Description("Secrets for the run's steps, by name; never shown by the API.")]
    IReadOnlyDictionary<string, string>? Secrets = null,
    [property: StringLength(255, MinimumLength = 1)]
    [property: Description("Names the run: starting again with the same key returns the same run. The same as the Idempotency-Key header; send one of them (1 to 255 characters).")]
    string? IdempotencyKey = null);

/// <summary>The body of <c>POST /api/tenants</c>.</summary>
[RefusesUnknownMembers]
public sealed record CreateTenantRequest(
    [property: RegularExpression("^[a-z](?:-?[a-z0-9])*$"), StringLength(40, MinimumLength = 1)]
    [property: Description("The tenant's id: lowercase letters, digits and single '-', starting with a letter, at most 40 characters.")]
    string Id,
    [property: StringLength(200)]
    [property: Description("A name for people (at most 200 characters); the id when omitted.")]
    string? DisplayName = null,
    [property: Description("The tenant's quotas; the cluster's defaults when omitted.")]
    TenantQuotasRequest? Quotas = null);

/// <summary>A tenant's quotas (the body of <c>PUT /api/tenants/{id}/quotas</c>); null means the cluster's default.</summary>
[RefusesUnknownMembers]
public sealed record TenantQuotasRequest(
    [property: Range(0, 1000000)]
    [property: Description("Most instances the tenant may have, from 0 to 1000000; null for the cluster's default.")]
    int? MaxInstances = null,
    [property: Range(0, 1000000)]
    [property: Description("Most runs the tenant may have going at once, child runs included, from 0 to 1000000; null for the cluster's default.")]
    int? MaxConcurrentRuns = null,
    [property: Range(0, 100)]
    [property: Description("How deep runs may nest child runs (workflow steps), from 0 to 100; null for the cluster's default (5).")]
    int? MaxRunDepth = null,
    [property: Range(60, 2592000)]
    [property: Description("Seconds a terminal session may stay idle (no input or output, nobody attached) before it is ended, from 60 to 2592000; null for no limit (the default).")]
    int? SessionIdleTimeout = null);

/// <summary>The body of <c>POST /api/tenants/{id}/keys</c> (optional).</summary>
[RefusesUnknownMembers]
public sealed record CreateApiKeyRequest(
    [property: StringLength(100)]
    [property: Description("A name for the key (at most 100 characters); 'default' when omitted.")]
    string? Name = null,
    [property: Description("When the key stops working (RFC 3339), within ten years. Not together with expires_in_days.")]
    DateTimeOffset? ExpiresAt = null,
    [property: Range(1, 3650)]
    [property: Description("Days until the key stops working, from 1 to 3650. Not together with expires_at.")]
    int? ExpiresInDays = null);

/// <summary>The body of <c>PUT /api/secrets/{name}</c>.</summary>
[RefusesUnknownMembers]
public sealed record PutSecretRequest(
    [property: StringLength(65536, MinimumLength = 1)]
    [property: Description("The secret's value: non-empty text, at most 64 KiB of UTF-8, without U+0000. Never shown again.")]
    string Value);

/// <summary>The body of <c>POST /api/instances/{id}/sessions</c> (optional).</summary>
[RefusesUnknownMembers]
public sealed record CreateSessionRequest(
    [property: RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]*$"), StringLength(64, MinimumLength = 1)]
    [property: Description("A name to show: 1 to 64 letters, digits, '.', '_' or '-'; the session's id when omitted.")]
    string? Name = null,
    [property: StringLength(131072, MinimumLength = 1)]
    [property: Description("The shell command line to run; the login shell when omitted.")]
    string? Command = null,
    [property: Description("The working directory to start in; it must exist.")]
    string? Cwd = null,
    [property: Description("Environment variables for the program (at most 256); passed to it, never stored.")]
    IReadOnlyDictionary<string, string>? Env = null,
    [property: Range(1, 1000)]
    [property: Description("The window's width until a client attaches, from 1 to 1000 (default 80).")]
    int? Cols = null,
    [property: Range(1, 1000)]
    [property: Description("The window's height until a client attaches, from 1 to 1000 (default 24).")]
    int? Rows = null);

/// <summary>The body of <c>PATCH /api/instances/{id}/sessions/{sid}</c>.</summary>
[RefusesUnknownMembers]
public sealed record RenameSessionRequest(
    [property: RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]*$"), StringLength(64, MinimumLength = 1)]
    [property: Description("The new name: 1 to 64 letters, digits, '.', '_' or '-'.")]
    string Name);

/// <summary>The body of <c>POST /api/instances/{id}/sessions/{sid}/input</c>: text or keys, not both.</summary>
[RefusesUnknownMembers]
public sealed record SessionInputRequest(
    [property: StringLength(65536, MinimumLength = 1)]
    [property: Description("Text typed literally (no key names are read in it). Not together with keys.")]
    string? Text = null,
    [property: Description("tmux key names pressed in order, such as C-c, Enter, Up, Escape, Tab, BSpace, F1 or a single character, with C-, M- or S- in front (at most 256). Not together with text.")]
    IReadOnlyList<string>? Keys = null);

/// <summary>The body of <c>POST /api/environments</c>.</summary>
[RefusesUnknownMembers]
public sealed record CreateEnvironmentRequest(
    [property: RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    [property: Description("The checkout's directory under /workspace: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters.")]
    string Name,
    [property: StringLength(2048, MinimumLength = 1)]
    [property: Description("The repository: an https://, http://, ssh:// or git:// URL, or user@host:path; never with a password in it.")]
    string RepoUrl,
    [property: Description("The Fly region to run in, such as 'ams', 'fra' or 'iad'.")]
    string Region,
    [property: Description("A machine size preset: shared-cpu-{1,2,4,6,8}x or performance-{1,2,4,6,8,10,12,14,16}x.")]
    string Size,
    [property: StringLength(255, MinimumLength = 1)]
    [property: Description("The branch to check out; the remote's default branch when omitted.")]
    string? Branch = null,
    [property: Description("A volume mounted at /workspace: {size_gb} for a new one, or {id} for one a destroyed instance of the tenant kept.")]
    EnvironmentVolumeRequest? Volume = null,
    [property: StringLength(32768)]
    [property: Description("A shell command run in the checkout once it is cloned; a failure fails the environment.")]
    string? SetupCommand = null,
    [property: Description("Environment variables for the machine (at most 64).")]
    IReadOnlyDictionary<string, string>? Env = null,
    [property: RegularExpression("^[A-Z_][A-Z0-9_]*$"), StringLength(64, MinimumLength = 1)]
    [property: Description("The tenant secret holding an https token for the repository (token, or username:token); it reaches git on its standard input only.")]
    string? GitCredentialsSecret = null);

/// <summary>An environment's volume: a new one or a kept one, mounted at /workspace.</summary>
[RefusesUnknownMembers]
public sealed record EnvironmentVolumeRequest(
    [property: Range(1, 500)]
    [property: Description("Size in GB of a new volume, from 1 to 500. Not together with id.")]
    int? SizeGb = null,
    [property: Description("The id of a volume a destroyed instance of the tenant kept. Not together with size_gb.")]
    string? Id = null);

/// <summary>The body of <c>POST /api/environments/{id}/git/commit</c>.</summary>
[RefusesUnknownMembers]
public sealed record GitCommitBody(
    [property: StringLength(65536, MinimumLength = 1)]
    [property: Description("The commit message.")]
    string Message,
    [property: Description("Commit only these paths (relative to the checkout), staging them first. Not together with all.")]
    IReadOnlyList<string>? Paths = null,
    [property: Description("Stage and commit every change, untracked files included. Without paths or all, what is staged is committed.")]
    bool? All = null,
    [property: Description("The commit's author; the checkout's configured identity (or 'Orchestrator') when omitted.")]
    GitAuthorBody? Author = null);

/// <summary>A commit's author.</summary>
[RefusesUnknownMembers]
public sealed record GitAuthorBody(
    [property: StringLength(256, MinimumLength = 1)]
    [property: Description("The author's name.")]
    string Name,
    [property: StringLength(256, MinimumLength = 1)]
    [property: Description("The author's email.")]
    string Email);

/// <summary>The body of <c>POST /api/environments/{id}/git/push</c>.</summary>
[RefusesUnknownMembers]
public sealed record GitPushBody(
    [property: RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    [property: Description("The remote (default origin).")]
    string? Remote = null,
    [property: StringLength(255, MinimumLength = 1)]
    [property: Description("The branch to push (default the current one).")]
    string? Branch = null,
    [property: Description("Make the remote branch the local branch's upstream.")]
    bool? SetUpstream = null);

/// <summary>The body of <c>POST /api/environments/{id}/git/checkout</c>.</summary>
[RefusesUnknownMembers]
public sealed record GitCheckoutBody(
    [property: StringLength(255, MinimumLength = 1)]
    [property: Description("The branch to switch to.")]
    string Branch,
    [property: Description("Create the branch from HEAD (default false).")]
    bool? Create = null);
