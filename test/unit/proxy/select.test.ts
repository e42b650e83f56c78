import t from 'tap';
import { classify, isLongRunning } from '../../../src/proxy/select.ts';

const cases: Array<[string, string, string]> = [
  ['GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=1', 'watch'],
  ['GET', '/api/v1/pods?allowWatchBookmarks=true&watch=1', 'watch'],
  ['GET', '/api/v1/watch/namespaces/default/pods', 'watch'],
  ['GET', '/api/v1/namespaces/default/pods/web/log?follow=true&container=c', 'stream'],
  ['GET', '/api/v1/namespaces/default/pods/web/log?container=c', 'read'],
  ['POST', '/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true', 'stream'],
  ['GET', '/api/v1/namespaces/default/pods/web/attach?stdin=true', 'stream'],
  ['GET', '/api/v1/namespaces/default/pods/web/portforward?ports=8080', 'stream'],
  ['GET', '/api/v1/namespaces/default/services/web/proxy/healthz', 'stream'],
  ['GET', '/api', 'discovery'],
  ['GET', '/apis', 'discovery'],
  ['GET', '/apis/apps/v1', 'discovery'],
  ['GET', '/api/v1', 'discovery'],
  ['GET', '/openapi/v3/apis/apps/v1', 'discovery'],
  ['GET', '/version', 'discovery'],
  ['GET', '/api/v1/namespaces', 'read'],
  ['GET', '/api/v1/namespaces/default/configmaps?limit=500', 'read'],
  ['GET', '/apis/apps/v1/namespaces/default/deployments/web', 'read'],
  ['GET', '/api/v1/namespaces/watch-me/configmaps?labelSelector=watch%3Dtrue', 'read'],
  ['POST', '/api/v1/namespaces/default/configmaps', 'write'],
  ['PATCH', '/api/v1/namespaces/default/configmaps/x?fieldManager=kubectl', 'write'],
  ['DELETE', '/api/v1/namespaces/default/configmaps/x', 'write'],
];

for (const [method, url, expected] of cases) {
  t.test(`${method} ${url} is ${expected}`, async (t) => {
    const c = classify(method, url);
    t.equal(c, expected);
    t.equal(isLongRunning(c), expected === 'watch' || expected === 'stream');
  });
}
