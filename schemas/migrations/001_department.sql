-- Departments that send exports (公安, 人社, …), keyed by their code.
-- priority ranks the department as a source in survivorship; merge defines
-- how the ranks are read.
CREATE TABLE department (
    code       text        PRIMARY KEY,
    name       text        NOT NULL,
    priority   int         NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
