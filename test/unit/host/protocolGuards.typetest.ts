// A type test: compiled by `npm run typecheck` (tsconfig.json includes test/), never run (mocha loads *.test.ts).
// Each `@ts-expect-error` marks a table the compiler must refuse; if the completeness check ever stops working,
// the line compiles, the directive is unused, and the typecheck fails. Runtime checks of each guard are in
// protocol.test.ts.
import type { IpcRequest, NotificationGuards, ParamGuards, RequestHandlers, ResultGuards } from '../../../src/protocol/ipc';
import {
  HOST_REQUEST_PARAM_GUARDS,
  HOST_REQUEST_RESULT_GUARDS,
  REQUEST_PARAM_GUARDS,
  type HostRequestMap,
  type HostToWebview,
  type RequestMap,
  type WebviewToHost,
} from '../../../src/protocol/panel';

// The real tables hold a guard for every method of their map (whatever their annotation says).
export const realParams: { [M in keyof RequestMap]-?: unknown } = REQUEST_PARAM_GUARDS;
export const realHostParams: { [M in keyof HostRequestMap]-?: unknown } = HOST_REQUEST_PARAM_GUARDS;
export const realHostResults: { [M in keyof HostRequestMap]-?: unknown } = HOST_REQUEST_RESULT_GUARDS;

// A request method added to a map: the table written for the map before it no longer compiles.
type Grown = RequestMap & { 'head/new': IpcRequest<{ sessionId: number }, number> };
// @ts-expect-error 'head/new' has no params guard
export const grownParams: ParamGuards<Grown> = REQUEST_PARAM_GUARDS;
type GrownHost = HostRequestMap & { 'view/new': IpcRequest<{ token: number }, string> };
// @ts-expect-error 'view/new' has no params guard
export const grownHostParams: ParamGuards<GrownHost> = HOST_REQUEST_PARAM_GUARDS;
// @ts-expect-error 'view/new' has no result guard
export const grownHostResults: ResultGuards<GrownHost> = HOST_REQUEST_RESULT_GUARDS;

// A table missing one method, or one notification type, does not compile either.
declare const noRoutes: Omit<ParamGuards<RequestMap>, 'routes/trace'>;
// @ts-expect-error 'routes/trace' has no guard
export const missingParams: ParamGuards<RequestMap> = noRoutes;
declare const noLog: Omit<NotificationGuards<WebviewToHost>, 'log'>;
// @ts-expect-error 'log' has no guard
export const missingNotification: NotificationGuards<WebviewToHost> = noLog;
declare const noRequest: Omit<NotificationGuards<HostToWebview>, 'request'>;
// @ts-expect-error the host's requests have no guard
export const missingHostRequest: NotificationGuards<HostToWebview> = noRequest;

// A guard for a method that does not exist is refused too.
const yes = () => true;
// @ts-expect-error 'export/other' is no host request method
export const extra: ParamGuards<HostRequestMap> = { 'export/render': yes, 'export/other': yes };

// Whoever answers a direction's requests needs a handler for each method.
// @ts-expect-error no handler for 'export/render'
export const noHandlers: RequestHandlers<HostRequestMap> = {};
