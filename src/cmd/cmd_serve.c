/* cmd_serve.c - `mnemo serve` runs the REST API server; `mnemo routes` prints its route
 * table (plain, Markdown for docs/API.md, or the OpenAPI document) and its settings table. */
#include <string.h>

#include "../http/http.h"
#include "cli.h"

int cmd_serve(int argc, char **argv)
{
    mn__http_cfg cfg;
    int rc = mn__http_cfg_load(&cfg, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    return mn__http_serve(&cfg);
}

int cmd_routes(int argc, char **argv)
{
    static const cli_cmd cmd = {"routes", "Print the REST routes or settings as docs.",
                                "[--markdown | --openapi | --config-markdown]", cmd_routes};
    cli_opt opts[] = {
        {"markdown", NULL, "the route table as Markdown (docs/API.md)", NULL},
        {"openapi", NULL, "the OpenAPI 3.1 document", NULL},
        {"config-markdown", NULL, "the settings of 'mnemo serve' as Markdown (docs/CONFIG.md)",
         NULL},
        {"help", NULL, "show this help", NULL},
        {NULL, NULL, NULL, NULL},
    };
    mn__http_cfg cfg;
    char *fake[] = {"serve", NULL};
    int rc = cli_parse(&cmd, argc, argv, opts, NULL, 0, NULL);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (cli_flag(opts, "openapi")) {
        if (mn__http_cfg_load(&cfg, 1, fake))
            return 1;
        return mn__http_openapi_print(&cfg, stdout) ? 1 : 0;
    }
    if (cli_flag(opts, "config-markdown")) {
        mn__http_cfg_markdown(stdout);
        return 0;
    }
    mn__http_routes_markdown(stdout);
    return 0;
}
