// Which kind of request is this? Decided from the method and URL only, without allocating on the
// common path. "Long-running" follows kube-apiserver's own list (watch, proxy, log?follow,
// exec/attach/portforward): those get no timeout and are left out of the latency histogram.

const STREAMING_SUBRESOURCES = /\/(?:exec|attach|portforward|proxy)(?:\/|$)/;

export type RequestClass = 'watch' | 'stream' | 'discovery' | 'read' | 'write';

export function classify(method: string, url: string): RequestClass {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (q !== -1) {
    const query = url.slice(q + 1);
    if (/(?:^|&)watch=(?:true|1)(?:&|$)/.test(query)) return 'watch';
    if (/(?:^|&)follow=(?:true|1)(?:&|$)/.test(query) && path.endsWith('/log')) return 'stream';
  }
  if (path.includes('/watch/')) return 'watch';
  if (STREAMING_SUBRESOURCES.test(path) && isResourcePath(path)) return 'stream';
  if (method === 'GET' || method === 'HEAD') {
    return isDiscoveryPath(path) ? 'discovery' : 'read';
  }
  return 'write';
}

export function isLongRunning(c: RequestClass): boolean {
  return c === 'watch' || c === 'stream';
}

function isResourcePath(path: string): boolean {
  return path.startsWith('/api/') || path.startsWith('/apis/');
}

function isDiscoveryPath(path: string): boolean {
  return path === '/api' || path === '/apis' || path === '/version' || path.startsWith('/openapi/')
    || /^\/apis?\/[^/]+(?:\/[^/]+)?\/?$/.test(path) && !/^\/api\/v1\/[^/]+/.test(path);
}
