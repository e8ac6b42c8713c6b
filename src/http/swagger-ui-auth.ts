/**
 * Swagger UI with authentication on: the page is public, the document it shows (`/docs/json`)
 * needs `flows:read`, so the page must send a key when it fetches it. These two functions are
 * handed to Swagger UI as `requestInterceptor` / `responseInterceptor`; @fastify/swagger-ui
 * writes them into the page with Function#toString, so they run in the browser and must not use
 * anything from this module or its imports.
 *
 * The key is the one the web console keeps (sessionStorage `flowd.apiKey`, same origin), or the
 * one entered in Swagger UI's "Authorize" dialog (kept across reloads: persistAuthorization).
 * Without one, the first 401 on the document asks for it and reloads the page.
 */

interface SwaggerRequest {
  url: string;
  headers: Record<string, string>;
}

interface SwaggerResponse {
  url: string;
  status: number;
}

export function sendStoredApiKey(request: SwaggerRequest): SwaggerRequest {
  let key = window.sessionStorage.getItem('flowd.apiKey');
  if (key === null || key === '') {
    try {
      const authorized = JSON.parse(window.localStorage.getItem('authorized') ?? '{}') as { apiKey?: { value?: unknown } };
      key = typeof authorized.apiKey?.value === 'string' ? authorized.apiKey.value : null;
    } catch {
      key = null;
    }
  }
  if (key !== null && key !== '' && request.headers['Authorization'] === undefined) request.headers['Authorization'] = 'Bearer ' + key;
  return request;
}

export function askForApiKeyOnce(response: SwaggerResponse): SwaggerResponse {
  if (response.status === 401 && /\/docs\/json$/.test(response.url.split('?')[0] ?? '') && window.sessionStorage.getItem('flowd.apiKey') === null) {
    const key = window.prompt('This API document needs an API key with the flows:read scope. API key:');
    if (key !== null && key.trim() !== '') {
      window.sessionStorage.setItem('flowd.apiKey', key.trim());
      window.location.reload();
    }
  }
  return response;
}
