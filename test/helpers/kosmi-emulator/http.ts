import type http from 'node:http';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { graphql } from './graphql.js';
import { EMAIL_LOGIN_PATH, appPage } from './page.js';
import type { EmulatedUser, EmulatorState } from './state.js';

/** What the emulator's HTTP side reads from the running emulator. */
export interface HttpContext {
  readonly state: EmulatorState;
  readonly schema: GraphQLSchema;
  readonly logins: { anon: number; email: number; emailRefused: number };
  /** The web page's current settings (tests change them while the emulator runs). */
  page(): Parameters<typeof appPage>[0];
  issue(sub: string): Promise<string>;
  anonLogin(): Promise<{ token: string; user: EmulatedUser }>;
}

/**
 * HTTP: the web app's page (GET / and /room/...), the page's email login, and GraphQL over
 * POST / (docs/kosmi-protocol.md §1, §11: only anonLogin and introspection are answered).
 */
export async function handleHttp(
  context: HttpContext,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://emulator');
  const json = (status: number, body: unknown): void => {
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (request.method === 'GET' && (url.pathname === '/' || url.pathname.startsWith('/room/'))) {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(appPage(context.page()));
    return;
  }
  if (request.method !== 'POST') return json(404, { errors: [{ message: 'not found' }] });
  const body = await readJson(request);
  if (url.pathname === EMAIL_LOGIN_PATH) {
    const { email, password } = (body ?? {}) as { email?: unknown; password?: unknown };
    const user = [...context.state.users.values()].find(
      (u) => u.email !== undefined && u.email === email && u.password === password,
    );
    if (user === undefined) {
      context.logins.emailRefused += 1;
      return json(401, { error: 'Invalid email or password' });
    }
    context.logins.email += 1;
    return json(200, {
      token: await context.issue(user.id),
      user: { id: user.id, displayName: user.displayName },
    });
  }
  // §6.2: the paths people guessed for an email login answer 400 with an empty message.
  if (url.pathname === '/auth/login' || url.pathname === '/login')
    return json(400, { errors: [{ message: '' }] });
  if (url.pathname !== '/') return json(404, { errors: [{ message: 'not found' }] });
  const { query, variables, operationName } = (body ?? {}) as {
    query?: unknown;
    variables?: Record<string, unknown>;
    operationName?: string;
  };
  let document: DocumentNode;
  try {
    document = graphql.parse(String(query));
  } catch (error) {
    return json(400, { errors: [{ message: (error as Error).message }] });
  }
  const errors = graphql.validate(context.schema, document);
  if (errors.length > 0) return json(400, { errors: errors.map((e) => ({ message: e.message })) });
  // §11: over HTTP only anonLogin (and introspection, §1) is answered.
  const fields = document.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === graphql.Kind.OPERATION_DEFINITION)
    .flatMap((d) =>
      d.selectionSet.selections.map((s) => (s.kind === graphql.Kind.FIELD ? s.name.value : '')),
    );
  if (!fields.every((f) => f === 'anonLogin' || f.startsWith('__'))) {
    return json(200, { errors: [{ message: `not available over HTTP: ${fields.join(', ')}` }] });
  }
  const result = await graphql.execute({
    schema: context.schema,
    document,
    rootValue: { anonLogin: () => context.anonLogin() },
    variableValues: variables ?? null,
    operationName: operationName ?? null,
  });
  return json(200, result);
}

function readJson(request: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
  });
}
