// The pieces of mesh identity that need no server: Envoy's XFCC format
// (quoted values may hold "," and ";"), the last element wins, the source
// address must be a trusted proxy, SPIFFE IDs and grpc-js peer strings.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { meshPeer, normalizeIp, parseSpiffe, parseXfcc, peerAddress } from "../../server/security/mesh.ts";

test("quoted XFCC values keep their commas and semicolons; keys are case-insensitive", () => {
  const els = parseXfcc('By=spiffe://td/ns/a/sa/b;Hash=h;Subject="CN=x,O=y;z";uri=spiffe://td/ns/demo/sa/web,By=x;URI=spiffe://td/ns/c/sa/d');
  assert.is(els.length, 2);
  assert.is(els[0]!.get("subject"), "CN=x,O=y;z");
  assert.is(els[0]!.get("uri"), "spiffe://td/ns/demo/sa/web");
  assert.is(els[1]!.get("uri"), "spiffe://td/ns/c/sa/d");
});

test("meshPeer: only from a trusted address, and only the last element", () => {
  const xfcc = 'URI=spiffe://cluster.local/ns/pay/sa/p,By=spiffe://cluster.local/ns/boifi/sa/cp;Subject="a,b";URI=spiffe://cluster.local/ns/demo/sa/web';
  const ok = meshPeer({ remoteAddress: "::ffff:127.0.0.6", xfcc }, ["127.0.0.6"]);
  assert.ok("peer" in ok);
  if ("peer" in ok) assert.equal([ok.peer.namespace, ok.peer.serviceAccount, ok.peer.principal], ["demo", "web", "cluster.local/ns/demo/sa/web"]);
  const from = meshPeer({ remoteAddress: "127.0.0.1", xfcc }, ["127.0.0.6"]);
  assert.ok("reason" in from && /comes from 127\.0\.0\.1, not from a trusted proxy/.test(from.reason));
  const none = meshPeer({ remoteAddress: "127.0.0.6", xfcc: undefined }, ["127.0.0.6"]);
  assert.ok("reason" in none && /no x-forwarded-client-cert/.test(none.reason));
  const noUri = meshPeer({ remoteAddress: "127.0.0.6", xfcc: "By=x;Hash=y" }, ["127.0.0.6"]);
  assert.ok("reason" in noUri && /has no URI/.test(noUri.reason));
});

test("SPIFFE IDs, addresses", () => {
  assert.equal(parseSpiffe("spiffe://td/ns/n/sa/s"), { uri: "spiffe://td/ns/n/sa/s", principal: "td/ns/n/sa/s", trustDomain: "td", namespace: "n", serviceAccount: "s" });
  assert.is(parseSpiffe("spiffe://td/workload/x")!.namespace, undefined);
  assert.is(parseSpiffe("https://td/ns/n/sa/s"), undefined);
  assert.is(peerAddress("127.0.0.6:51234"), "127.0.0.6");
  assert.is(peerAddress("::ffff:127.0.0.6:51234"), "127.0.0.6");
  assert.is(peerAddress("[::1]:443"), "::1");
  assert.is(peerAddress("unix:/tmp/x"), undefined);
  assert.is(normalizeIp("::FFFF:10.0.0.1"), "10.0.0.1");
});

test.run();
