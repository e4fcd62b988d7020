/**
 * The events services: gRPC `containerd.services.events.v1.Events` (Publish, Forward, Subscribe) and the
 * ttrpc `containerd.services.events.ttrpc.v1.Events/Forward` that shims call on `<address>.ttrpc`.
 */
import { UnknownError, kindOf, normalize, withContext } from "@containerts/errdefs";
import { background } from "@containerts/namespaces";
import { type GrpcServicePlugin, grpcService, serverStream, unary } from "@containerts/namespaces/grpc";
import { type TtrpcServer, unaryHandler } from "@containerts/ttrpc";
import { Empty } from "@containerts/api/protobuf";
import { EventsService, type EventsServer } from "@containerts/api/services/events/v1";
import { ForwardRequest as TtrpcForwardRequest } from "@containerts/api/services/ttrpc/events/v1";
import type { Exchange } from "../index.js";
import { createPayloadEncoder, envelopeFromWire, envelopeToWire, payloadFromAny } from "./convert.js";

/** The ttrpc service shims forward their events to. */
export const TTRPC_EVENTS_SERVICE = "containerd.services.events.ttrpc.v1.Events";

/** The part of a ttrpc server the events service needs. */
export type TtrpcServerLike = Pick<TtrpcServer, "register">;

/**
 * The instance of the `io.containerd.grpc.v1 events` plugin: it registers the gRPC Events service on the
 * daemon's gRPC server and the ttrpc Events service (Forward) on its ttrpc server.
 */
export interface EventsServicePlugin extends GrpcServicePlugin {
  registerTtrpc(server: TtrpcServerLike): void;
}

/**
 * containerd returns exchange errors on the Subscribe stream unclassed: Unknown
 * `subscription error: failed parsing subscription filters: filters: parse error: …`. We do the same,
 * except for a dropped slow subscriber, which keeps its ResourceExhausted code.
 */
function subscriptionError(err: unknown): Error {
  const e = normalize(err);
  if (kindOf(e) === "ResourceExhausted") return withContext(e, "subscription error");
  return new UnknownError(`subscription error: ${e.message}`, { cause: e, bare: true });
}

/**
 * Creates the events services over an exchange, answering as containerd 1.6 does:
 * - Publish: the namespace header is required (FailedPrecondition `failed publishing event: namespace is
 *   required: failed precondition`), the topic is validated (InvalidArgument), the Any is published as
 *   given, byte for byte, stamped with the server's time.
 * - Forward (gRPC and ttrpc): the envelope is validated (namespace an identifier, topic valid, timestamp
 *   set; InvalidArgument otherwise) and delivered unchanged; the namespace header is ignored.
 * - Subscribe: not namespaced; streams every matching envelope published after the call arrived, until
 *   the client cancels. A malformed filter ends the stream with Unknown `subscription error: failed
 *   parsing subscription filters: …` (containerd's code and wording); a subscriber too slow to keep up is
 *   dropped with ResourceExhausted `subscription error: events subscriber dropped: …`.
 */
export function createEventsServer(exchange: Exchange): EventsServicePlugin {
  const encode = createPayloadEncoder();
  const impl: EventsServer = {
    publish: unary(async (req, ctx) => {
      await exchange.publish(ctx, req.topic, payloadFromAny(req.event));
      return {};
    }),
    forward: unary(async (req, ctx) => {
      await exchange.forward(ctx, envelopeFromWire(req.envelope));
      return {};
    }),
    subscribe: serverStream(async (req, ctx, send) => {
      try {
        for await (const envelope of exchange.subscribe(ctx, req.filters)) {
          await send(envelopeToWire(envelope, encode));
        }
      } catch (err) {
        if (ctx.signal.aborted) return;
        throw subscriptionError(err);
      }
    }),
  };
  const grpc = grpcService(EventsService, impl);
  return {
    register: (server) => grpc.register(server),
    registerTtrpc(server) {
      server.register(TTRPC_EVENTS_SERVICE, {
        Forward: unaryHandler(TtrpcForwardRequest, Empty, async (req, call) => {
          await exchange.forward(background(call.signal), envelopeFromWire(req.envelope));
          return {};
        }),
      });
    },
  };
}
