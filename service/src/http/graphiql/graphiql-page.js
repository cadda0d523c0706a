// Starts GraphiQL against this server: queries and mutations over HTTP POST /graphql,
// subscriptions over WebSocket (graphql-transport-ws, through the graphql-ws client that
// the GraphiQL bundle carries) at the same address. A bearer token typed into the
// headers editor as {"Authorization": "Bearer sr_…"} goes with every request, and into
// the WebSocket's connection_init payload (browsers cannot set headers on a WebSocket),
// so one connection is kept per token. GraphiQL keeps its tabs and history (whose
// entries carry the headers, token included) in the tab's sessionStorage, not in
// localStorage: they are forgotten when the tab closes.
(function () {
  'use strict';
  const endpoint = new URL('/graphql', window.location.href);
  const socket = new URL('/graphql', window.location.href);
  socket.protocol = socket.protocol === 'https:' ? 'wss:' : 'ws:';

  const fetchers = new Map();
  function fetcherFor(headers) {
    const authorization = (headers && (headers.Authorization || headers.authorization)) || '';
    let fetcher = fetchers.get(authorization);
    if (!fetcher) {
      fetcher = GraphiQL.createFetcher({
        url: endpoint.toString(),
        subscriptionUrl: socket.toString(),
        wsConnectionParams: authorization ? { Authorization: authorization } : {},
      });
      fetchers.set(authorization, fetcher);
    }
    return fetcher;
  }

  function fetcher(params, options) {
    return fetcherFor(options && options.headers)(params, options);
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
      storage: window.sessionStorage,
    }),
  );
})();
