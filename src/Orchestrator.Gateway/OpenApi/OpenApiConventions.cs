using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Orchestrator.Gateway.OpenApi;

/// <summary>
/// What the OpenAPI generator cannot infer from handlers that read the request by hand and write their own
/// responses: query and header parameters, request bodies with several media types, and responses whose media
/// types have different schemas (streams). Each adds an operation transformer to the endpoint.
/// </summary>
public static class OpenApiConventions
{
    /// <summary>The media types whose bodies are a sequence of JSON items: NDJSON lines, or the data of server-sent events.</summary>
    public static readonly IReadOnlySet<string> StreamMediaTypes = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "application/x-ndjson", "text/event-stream" };

    /// <summary>
    /// The extension that gives a stream's item schema. In OpenAPI 3.1 a media type's <c>schema</c> describes the whole
    /// body, so a stream's is <c>type: string</c> and its items' schema is here (OpenAPI 3.2 names it <c>itemSchema</c>).
    /// </summary>
    public const string ItemSchemaExtension = "x-itemSchema";

    /// <summary>Documents a query parameter of type <typeparamref name="T"/> that the handler reads from <c>HttpRequest.Query</c>.</summary>
    public static RouteHandlerBuilder WithQueryParameter<T>(this RouteHandlerBuilder builder, string name, string description, params string[] values) =>
        builder.WithParameter(ParameterLocation.Query, name, description, typeof(T), required: false, values);

    /// <summary>Documents a query parameter the handler reads and requires.</summary>
    public static RouteHandlerBuilder WithRequiredQueryParameter<T>(this RouteHandlerBuilder builder, string name, string description) =>
        builder.WithParameter(ParameterLocation.Query, name, description, typeof(T), required: true, []);

    /// <summary>Documents a request header the handler reads.</summary>
    public static RouteHandlerBuilder WithHeaderParameter(this RouteHandlerBuilder builder, string name, string description, params string[] values) =>
        builder.WithParameter(ParameterLocation.Header, name, description, typeof(string), required: false, values);

    /// <summary>Describes a path parameter the generator found in the route.</summary>
    public static RouteHandlerBuilder WithPathParameter(this RouteHandlerBuilder builder, string name, string description) =>
        builder.WithParameter(ParameterLocation.Path, name, description, typeof(string), required: true, []);

    /// <summary>
    /// Documents a request body of <paramref name="type"/> (a JSON schema) in each of <paramref name="mediaTypes"/>;
    /// a null type documents a body of text.
    /// </summary>
    public static RouteHandlerBuilder WithRequestBody(this RouteHandlerBuilder builder, Type? type, string description, bool required, params string[] mediaTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            foreach (var mediaType in mediaTypes)
            {
                content[mediaType] = new OpenApiMediaType { Schema = await SchemaForAsync(context, type, cancellationToken) };
            }

            operation.RequestBody = new OpenApiRequestBody { Description = description, Required = required, Content = content };
        });

    /// <summary>
    /// Documents a request body whose JSON form is <paramref name="jsonSchema"/> (a schema the document holds, such as
    /// a component) and whose other forms, in <paramref name="textMediaTypes"/>, are text in another syntax.
    /// </summary>
    public static RouteHandlerBuilder WithRequestBody(this RouteHandlerBuilder builder, Func<OpenApiDocument, IOpenApiSchema> jsonSchema, string description, bool required, params string[] textMediaTypes) =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            var content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["application/json"] = new() { Schema = jsonSchema(context.Document!) },
            };
            foreach (var mediaType in textMediaTypes)
            {
                content[mediaType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }

            operation.RequestBody = new OpenApiRequestBody { Description = description, Required = required, Content = content };
            return Task.CompletedTask;
        });

    /// <summary>
    /// Documents a response with <paramref name="statusCode"/> in each of <paramref name="mediaTypes"/>: its body is
    /// one of <paramref name="oneOf"/> (one type: that type; none: no body). Calls for the same status add media types.
    /// A stream media type (<see cref="StreamMediaTypes"/>) gets a text body whose items are one of the types
    /// (<see cref="ItemSchemaExtension"/>); <c>text/plain</c> with <see cref="string"/> gets no schema, so generators
    /// do not take it for a second, divergent schema of the answer.
    /// </summary>
    public static RouteHandlerBuilder WithResponse(this RouteHandlerBuilder builder, int statusCode, string description, Type[] oneOf, params string[] mediaTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.Responses ??= [];
            var key = statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!operation.Responses.TryGetValue(key, out var existing) || existing is not OpenApiResponse response)
            {
                response = new OpenApiResponse();
                operation.Responses[key] = response;
            }

            response.Description = description;
            if (oneOf.Length == 0)
            {
                return;
            }

            var schemas = await Task.WhenAll(oneOf.Select(t => SchemaForAsync(context, t, cancellationToken)));
            IOpenApiSchema schema = schemas.Length == 1 ? schemas[0] : new OpenApiSchema { OneOf = [.. schemas] };
            response.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            foreach (var mediaType in mediaTypes)
            {
                response.Content[mediaType] = StreamMediaTypes.Contains(mediaType) ? StreamOf(schemas)
                    : mediaType == "text/plain" && oneOf is [var only] && only == typeof(string) ? new OpenApiMediaType()
                    : new OpenApiMediaType { Schema = schema };
            }
        });

    /// <summary>
    /// Documents a header of the response with <paramref name="statusCode"/> (such as <c>Location</c>). A
    /// <c>Location</c> is always sent with the status it is documented for, so it is required.
    /// </summary>
    public static RouteHandlerBuilder WithResponseHeader(this RouteHandlerBuilder builder, int statusCode, string name, string description) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var key = statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses?.GetValueOrDefault(key) is OpenApiResponse response)
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>(StringComparer.OrdinalIgnoreCase);
                response.Headers[name] = new OpenApiHeader
                {
                    Description = description,
                    Required = string.Equals(name, "Location", StringComparison.OrdinalIgnoreCase),
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                };
            }

            return Task.CompletedTask;
        });

    /// <summary>Documents problem details (<c>application/problem+json</c>) answers with each status code.</summary>
    public static RouteHandlerBuilder ProducesProblems(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var statusCode in statusCodes)
        {
            builder.ProducesProblem(statusCode);
        }

        return builder;
    }

    /// <summary>Documents an instance state change (start, stop, restart): 202 with the instance, and what Fly can answer.</summary>
    public static RouteHandlerBuilder WithTransition(this RouteHandlerBuilder builder, string summary, string description) =>
        builder
            .WithSummary(summary)
            .WithDescription(description)
            .WithPathParameter("id", "The instance's name.")
            .Produces<Instances.InstanceResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The instance's URL, to poll.")
            .ProducesProblems(400, 404, 409, 422, 429, 502, 503);

    /// <summary>Documents a run action (cancel, retry, signal): 202 with the run.</summary>
    public static RouteHandlerBuilder WithRunAction(this RouteHandlerBuilder builder, string summary, string description) =>
        builder
            .WithSummary(summary)
            .WithDescription(description)
            .WithPathParameter("id", "The run's id.")
            .Produces<Runs.RunResponse>(StatusCodes.Status202Accepted)
            .WithResponseHeader(StatusCodes.Status202Accepted, "Location", "The run's URL.")
            .ProducesProblems(400, 404, 409);

    private static RouteHandlerBuilder WithParameter(this RouteHandlerBuilder builder, ParameterLocation location, string name, string description, Type type, bool required, string[] values) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            operation.Parameters ??= [];
            var existing = operation.Parameters.OfType<OpenApiParameter>().FirstOrDefault(p => p.In == location && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
            if (existing is not null)
            {
                existing.Description = description;
                return;
            }

            var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
            if (values.Length > 0)
            {
                schema.Enum = [.. values.Select(static v => (JsonNode)JsonValue.Create(v))];
            }

            operation.Parameters.Add(new OpenApiParameter { Name = name, In = location, Description = description, Required = required, Schema = schema });
        });

    /// <summary>A text body (the whole stream) whose items are one of <paramref name="items"/>.</summary>
    private static OpenApiMediaType StreamOf(IOpenApiSchema[] items)
    {
        var references = items.Select(static s => s is OpenApiSchemaReference { Reference.Id: { } id }
            ? new JsonObject { ["$ref"] = "#/components/schemas/" + id }
            : throw new InvalidOperationException("A stream's items are described by named components.")).ToList();
        JsonNode item = references is [var single] ? single : new JsonObject { ["oneOf"] = new JsonArray([.. references]) };
        return new OpenApiMediaType
        {
            Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = $"A stream of JSON items (one per NDJSON line, or the data of each server-sent event), each valid against {ItemSchemaExtension}.",
            },
            Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal) { [ItemSchemaExtension] = new JsonNodeExtension(item) },
        };
    }

    /// <summary>
    /// The schema of <paramref name="type"/>; this assembly's types become named components (as the generator makes
    /// of the types it infers), so the reference shows them by name rather than inline.
    /// </summary>
    private static async Task<IOpenApiSchema> SchemaForAsync(OpenApiOperationTransformerContext context, Type? type, CancellationToken cancellationToken)
    {
        if (type is null)
        {
            return new OpenApiSchema { Type = JsonSchemaType.String };
        }

        var schema = await context.GetOrCreateSchemaAsync(type, null, cancellationToken);
        return context.Document is { } document && type.Assembly == typeof(OpenApiConventions).Assembly
            ? Component(document, type.Name, schema)
            : schema;
    }

    /// <summary>A reference to the component <paramref name="id"/>, added as <paramref name="schema"/> when the document has none yet.</summary>
    internal static OpenApiSchemaReference Component(OpenApiDocument document, string id, IOpenApiSchema schema)
    {
        if (document.Components?.Schemas?.ContainsKey(id) is not true)
        {
            document.AddComponent(id, schema);
        }

        return new OpenApiSchemaReference(id, document);
    }
}
